// Package parallel runs independent work on every core. Reading files, converting
// objects, evaluating reviews and placing findings all share this one loop.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(0) ... f(n-1), on as many goroutines as there are cores (or fewer when
// n is small), and returns when every call has returned. Each index is handed out once,
// in increasing order, so f may write to the i-th slot of a slice without locking.
func For(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}
