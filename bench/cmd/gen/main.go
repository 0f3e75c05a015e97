// Command gen writes the benchmark corpus: gen -n 10000 -seed 1 -o bench/out/corpus-10000.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/wardsec/ward/bench/gen"
)

func main() {
	n := flag.Int("n", 1000, "number of files")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("o", "", "output directory (required)")
	one := flag.String("one", "", "write the single-file case to this path instead")
	flag.Parse()
	if *one != "" {
		if err := gen.One(*one, *seed); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -o DIR is required")
		os.Exit(2)
	}
	st, err := gen.Generate(*out, *n, *seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("%d files, %d documents, %d bytes\n", st.Files, st.Documents, st.Bytes)
}
