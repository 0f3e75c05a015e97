// Package cgroup reads the memory limit that the Linux control group of the running
// process imposes, under cgroup v2 (the unified hierarchy) or v1, so that a Go program
// in a container can keep its heap below the limit it will be killed at.
//
// Only what a program needs to size itself is read: the limit, never usage. A process
// outside any limited cgroup (a laptop, a cgroup without memory.max, a non-Linux
// system) has no limit, which is not an error.
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// v1Unlimited is the smallest cgroup v1 memory.limit_in_bytes that means no limit: the
// kernel reports "unlimited" as the largest page-aligned int64 (9223372036854771712).
const v1Unlimited = 1 << 62

// MemoryLimit returns the memory limit in bytes of the cgroup the process runs in, the
// lowest along its path to the root of the hierarchy visible to it. ok is false when
// no limit applies or cgroups are not mounted; err is set only when the files exist
// but cannot be read or parsed.
func MemoryLimit() (limit uint64, ok bool, err error) {
	return memoryLimit("/")
}

// memoryLimit is MemoryLimit with every file read under root, for tests.
func memoryLimit(root string) (uint64, bool, error) {
	groups, err := readFile(filepath.Join(root, "proc/self/cgroup"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cgroup: %w", err)
	}
	mounts, err := readFile(filepath.Join(root, "proc/self/mountinfo"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cgroup: %w", err)
	}
	v1Path, v2Path, hasV1, hasV2 := memoryCgroup(groups)
	ms, err := parseMountinfo(mounts)
	if err != nil {
		return 0, false, err
	}
	// A v1 memory controller, when mounted, is the one that limits: on a hybrid system
	// the v2 hierarchy holds no controllers.
	if hasV1 {
		if m, ok := findMount(ms, func(m mount) bool { return m.fsType == "cgroup" && hasOption(m.superOptions, "memory") }); ok {
			return limitV1(root, m, v1Path)
		}
	}
	if hasV2 {
		if m, ok := findMount(ms, func(m mount) bool { return m.fsType == "cgroup2" }); ok {
			return limitV2(root, m, v2Path)
		}
	}
	return 0, false, nil
}

// memoryCgroup reads /proc/self/cgroup: the path of the v1 hierarchy holding the memory
// controller, and the path in the v2 hierarchy ("0::/path").
func memoryCgroup(data []byte) (v1, v2 string, hasV1, hasV2 bool) {
	for line := range strings.SplitSeq(string(data), "\n") {
		// hierarchy-ID:controller-list:cgroup-path; the path may hold colons.
		id, rest, ok1 := strings.Cut(line, ":")
		controllers, p, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			continue
		}
		switch {
		case id == "0" && controllers == "":
			v2, hasV2 = p, true
		case hasOption(controllers, "memory"):
			v1, hasV1 = p, true
		}
	}
	return v1, v2, hasV1, hasV2
}

// mount is one line of /proc/self/mountinfo, the fields ward needs.
type mount struct {
	root, point, fsType, superOptions string
}

// parseMountinfo reads the cgroup mounts of /proc/self/mountinfo (proc(5)):
// "36 35 98:0 /root /mnt/point rw,noatime master:1 - cgroup2 cgroup2 rw".
func parseMountinfo(data []byte) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || !strings.HasPrefix(g[0], "cgroup") {
			continue
		}
		out = append(out, mount{root: unescape(f[3]), point: unescape(f[4]), fsType: g[0], superOptions: g[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroup: mountinfo: %w", err)
	}
	return out, nil
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and backslash.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func findMount(ms []mount, match func(mount) bool) (mount, bool) {
	for _, m := range ms {
		if match(m) {
			return m, true
		}
	}
	return mount{}, false
}

func hasOption(list, opt string) bool {
	for o := range strings.SplitSeq(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// dir is where the cgroup at path p appears under mount m. Without a cgroup namespace
// a container sees its full path while the mount's root is that path or a parent of
// it; with one, both are "/". A path outside the mount's root (the mount shows another
// part of the hierarchy) falls back to the mount point itself.
func dir(root string, m mount, p string) string {
	rel := "/"
	if r := path.Clean(m.root); r == "/" {
		rel = path.Clean(p)
	} else if after, ok := strings.CutPrefix(path.Clean(p), r); ok && (after == "" || after[0] == '/') {
		rel = path.Clean("/" + after)
	}
	return filepath.Join(root, m.point, filepath.FromSlash(rel))
}

// limitV2 returns the lowest memory.max from the process's cgroup up to the mount point:
// a limit set on the pod's cgroup binds a container that has none of its own.
func limitV2(root string, m mount, p string) (uint64, bool, error) {
	top := filepath.Join(root, m.point)
	var limit uint64
	found := false
	for d := dir(root, m, p); ; d = filepath.Dir(d) {
		v, ok, err := readLimit(filepath.Join(d, "memory.max"), func(s string) (uint64, bool, error) {
			if s == "max" {
				return 0, false, nil
			}
			n, err := strconv.ParseUint(s, 10, 64)
			return n, err == nil, err
		})
		if err != nil {
			return 0, false, err
		}
		if ok && (!found || v < limit) {
			limit, found = v, true
		}
		if d == top || len(d) <= len(top) {
			break
		}
	}
	return limit, found, nil
}

// limitV1 returns hierarchical_memory_limit from memory.stat, which already takes the
// parents' limits into account, or else memory.limit_in_bytes.
func limitV1(root string, m mount, p string) (uint64, bool, error) {
	d := dir(root, m, p)
	stat, err := readFile(filepath.Join(d, "memory.stat"))
	if err == nil {
		for line := range strings.SplitSeq(string(stat), "\n") {
			if v, ok := strings.CutPrefix(line, "hierarchical_memory_limit "); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return 0, false, fmt.Errorf("cgroup: %s: hierarchical_memory_limit: %w", filepath.Join(d, "memory.stat"), err)
				}
				if n >= v1Unlimited {
					return 0, false, nil
				}
				return n, true, nil
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, false, fmt.Errorf("cgroup: %w", err)
	}
	return readLimit(filepath.Join(d, "memory.limit_in_bytes"), func(s string) (uint64, bool, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		return n, err == nil && n < v1Unlimited, err
	})
}

// readLimit reads one limit file with parse; a missing file is no limit.
func readLimit(file string, parse func(string) (uint64, bool, error)) (uint64, bool, error) {
	b, err := readFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cgroup: %w", err)
	}
	n, ok, err := parse(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false, fmt.Errorf("cgroup: %s: %w", file, err)
	}
	if !ok {
		return 0, false, nil
	}
	return n, true, nil
}

// readFile reads a file of /proc or of a cgroup hierarchy, whose paths the package
// builds from what the kernel reports.
func readFile(path string) ([]byte, error) {
	return os.ReadFile(path) //nolint:gosec // G304: paths under /proc and the cgroup mounts, by design
}
