// Package measure holds what the benchmark programs share: CPU time of this process,
// the list of manifest files under a path (found the way ward finds them), and the one
// line of JSON each floor program prints for the runner.
package measure

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CPU returns the user+system CPU time this process has used so far.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Result is what a floor program reports: the timed phase only.
type Result struct {
	Wall      float64 `json:"wall"` // seconds
	CPU       float64 `json:"cpu"`  // seconds
	Documents int     `json:"documents"`
	Findings  int     `json:"findings,omitempty"`
	// FindingsByRule counts findings per rule ID (the eval floor).
	FindingsByRule map[string]int `json:"findingsByRule,omitempty"`
}

// Print writes r as one line of JSON on standard output.
func (r Result) Print() {
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

// Timer measures wall and CPU time of a phase.
type Timer struct {
	wall time.Time
	cpu  time.Duration
}

// Start starts a Timer.
func Start() Timer { return Timer{wall: time.Now(), cpu: CPU()} }

// Stop returns the wall and CPU seconds since Start.
func (t Timer) Stop() (wall, cpu float64) {
	return time.Since(t.wall).Seconds(), (CPU() - t.cpu).Seconds()
}

// Files lists the .yaml, .yml and .json files below each path, in lexical order, hidden
// directories skipped, as ward lint walks a directory.
func Files(paths []string) ([]string, error) {
	var files []string
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}
