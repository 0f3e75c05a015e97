//go:build race

package e2e

// raceEnabled builds the ward binary with -race when the suite itself runs with it.
const raceEnabled = true
