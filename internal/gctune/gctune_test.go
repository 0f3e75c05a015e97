package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimitFollowsTheLiveHeap(t *testing.T) {
	s := Settings{Percent: 400, Floor: 1 << 30}
	for _, tc := range []struct {
		live uint64
		want int64
	}{
		{0, 1 << 30},
		{300 << 20, 1 << 30},
		{512 << 20, 1 << 30},
		{3 << 30, 6 << 30},
		{1 << 63, 1 << 62},
	} {
		if got := s.Limit(tc.live); got != tc.want {
			t.Errorf("Limit(%d) = %d, want %d", tc.live, got, tc.want)
		}
	}
}

// TestLimitIgnoresOneInflatedReading: a collection that counts what was allocated
// during it reads a live heap far above what stays; the limit follows the least of the
// recent readings, and a live heap that stays high a few collections later.
func TestLimitIgnoresOneInflatedReading(t *testing.T) {
	tu := &tuner{s: Settings{Percent: 400, Floor: 768 << 20}}
	const mb = 1 << 20
	for i, tc := range []struct {
		live uint64
		want int64
	}{
		{300 * mb, 768 * mb},
		{700 * mb, 768 * mb}, // one inflated reading
		{320 * mb, 768 * mb},
		{1000 * mb, 768 * mb},
		{1000 * mb, 768 * mb},
		{1000 * mb, 768 * mb},
		{1000 * mb, 2000 * mb}, // four in a row: the live heap did grow
		{1100 * mb, 2000 * mb},
	} {
		if got := tu.next(tc.live); got != tc.want {
			t.Errorf("reading %d (%d MiB live): limit %d MiB, want %d", i, tc.live/mb, got/mb, tc.want/mb)
		}
	}
}

// TestStartMovesTheLimit grows the live heap past the floor and wants the limit raised
// after a collection; and leaves both settings alone when the user made them.
func TestStartMovesTheLimit(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})

	unset := func(string) (string, bool) { return "", false }
	floor := int64(16 << 20)
	stop := Start(Settings{Percent: 300, Floor: floor}, unset)
	defer stop()
	if p := debug.SetGCPercent(300); p != 300 {
		t.Errorf("GOGC percent %d, want 300", p)
	}
	live := make([][]byte, 0, 64)
	for range 64 {
		live = append(live, make([]byte, 1<<20)) // 64 MiB live, past the floor
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		if limit := debug.SetMemoryLimit(-1); limit >= 2*64<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("memory limit still %d after collections with 64 MiB live", debug.SetMemoryLimit(-1))
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(live)
}

func TestStartLeavesUserSettings(t *testing.T) {
	oldPercent := debug.SetGCPercent(123)
	oldLimit := debug.SetMemoryLimit(777 << 20)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
	set := func(string) (string, bool) { return "x", true }
	defer Start(Default(), set)()
	if p := debug.SetGCPercent(-1); p != 123 {
		t.Errorf("GOGC percent %d, want the user's 123", p)
	}
	debug.SetGCPercent(123)
	if l := debug.SetMemoryLimit(-1); l != 777<<20 {
		t.Errorf("memory limit %d, want the user's", l)
	}
}
