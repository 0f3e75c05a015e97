package cgroup

import (
	"os"
	"path/filepath"
	"testing"
)

// tree writes files (path relative to root -> content) under a fresh root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	mountsV2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	// A hybrid host: v1 controllers, and an empty v2 hierarchy at unified/.
	mountsHybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
		"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	groupsHybrid = "9:name=systemd:/\n4:memory:/kubepods/pod1/c1\n1:cpu:/\n0::/\n"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		want   uint64
		wantOK bool
	}{
		{
			name: "v2, container in its own cgroup namespace",
			files: map[string]string{
				"proc/self/cgroup":           "0::/\n",
				"proc/self/mountinfo":        mountsV2,
				"sys/fs/cgroup/memory.max":   "536870912\n",
				"sys/fs/cgroup/memory.stat":  "anon 0\n",
				"sys/fs/cgroup/cgroup.procs": "1\n",
			},
			want: 512 << 20, wantOK: true,
		},
		{
			name: "v2, no limit",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"proc/self/mountinfo":      mountsV2,
				"sys/fs/cgroup/memory.max": "max\n",
			},
		},
		{
			name: "v2, the root cgroup has no memory.max",
			files: map[string]string{
				"proc/self/cgroup":    "0::/\n",
				"proc/self/mountinfo": mountsV2,
			},
		},
		{
			name: "v2, full path: the pod's limit binds a container without one",
			files: map[string]string{
				"proc/self/cgroup":                          "0::/kubepods/pod1/c1\n",
				"proc/self/mountinfo":                       mountsV2,
				"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "max\n",
				"sys/fs/cgroup/kubepods/pod1/memory.max":    "268435456\n",
				"sys/fs/cgroup/kubepods/memory.max":         "1073741824\n",
			},
			want: 256 << 20, wantOK: true,
		},
		{
			name: "v2, the mount shows the container's own cgroup as its root",
			files: map[string]string{
				"proc/self/cgroup":         "0::/kubepods/pod1/c1\n",
				"proc/self/mountinfo":      "30 23 0:26 /kubepods/pod1/c1 /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
				"sys/fs/cgroup/memory.max": "104857600\n",
			},
			want: 100 << 20, wantOK: true,
		},
		{
			name: "v1, hierarchical limit from memory.stat",
			files: map[string]string{
				"proc/self/cgroup":    groupsHybrid,
				"proc/self/mountinfo": mountsHybrid,
				"sys/fs/cgroup/memory/kubepods/pod1/c1/memory.stat":           "cache 0\nhierarchical_memory_limit 209715200\n",
				"sys/fs/cgroup/memory/kubepods/pod1/c1/memory.limit_in_bytes": "9223372036854771712\n",
			},
			want: 200 << 20, wantOK: true,
		},
		{
			name: "v1, memory.limit_in_bytes without memory.stat",
			files: map[string]string{
				"proc/self/cgroup":                           "4:memory:/\n",
				"proc/self/mountinfo":                        "35 31 0:32 /kubepods/pod1/c1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes": "134217728\n",
			},
			want: 128 << 20, wantOK: true,
		},
		{
			name: "v1, unlimited",
			files: map[string]string{
				"proc/self/cgroup":    groupsHybrid,
				"proc/self/mountinfo": mountsHybrid,
				"sys/fs/cgroup/memory/kubepods/pod1/c1/memory.stat": "hierarchical_memory_limit 9223372036854771712\n",
			},
		},
		{
			name: "v1 listed but not mounted, no v2 mount either",
			files: map[string]string{
				"proc/self/cgroup":    groupsHybrid,
				"proc/self/mountinfo": "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
			},
		},
		{
			name:  "no /proc at all",
			files: map[string]string{"etc/hostname": "laptop\n"},
		},
		{
			name: "mount point with an escaped space",
			files: map[string]string{
				"proc/self/cgroup":            "0::/\n",
				"proc/self/mountinfo":         `30 23 0:26 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n",
				"sys/fs/my cgroup/memory.max": "1048576\n",
			},
			want: 1 << 20, wantOK: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := memoryLimit(tree(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("memoryLimit = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestMemoryLimitMalformed(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"v2 memory.max": {
			"proc/self/cgroup":         "0::/\n",
			"proc/self/mountinfo":      mountsV2,
			"sys/fs/cgroup/memory.max": "lots\n",
		},
		"v1 memory.stat": {
			"proc/self/cgroup":    groupsHybrid,
			"proc/self/mountinfo": mountsHybrid,
			"sys/fs/cgroup/memory/kubepods/pod1/c1/memory.stat": "hierarchical_memory_limit -1\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok, err := memoryLimit(tree(t, files)); err == nil || ok {
				t.Errorf("memoryLimit = %v, %v; want an error", ok, err)
			}
		})
	}
}

// TestMemoryLimitHere reads this machine's cgroups: whatever they say, reading them
// must not fail.
func TestMemoryLimitHere(t *testing.T) {
	limit, ok, err := MemoryLimit()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memory limit: %d (set: %v)", limit, ok)
}
