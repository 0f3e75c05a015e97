// Command parsefloor is the decode floor of the benchmark: it reads every manifest file
// below its arguments and decodes every YAML document, in parallel on every core, and
// does nothing else. What ward does beyond this is the price of linting.
//
//	parsefloor [-mode nodes|sigs|manifest] PATH...
//
// Modes: nodes (default) decodes into go.yaml.in/yaml/v3 nodes, which ward needs anyway
// for the positions of its findings; sigs decodes each document through sigs.k8s.io/yaml
// into map[string]any, as kubectl and most tools do; manifest runs ward's own reader
// (pkg/manifest.Read: nodes, then values, with positions). It prints one line of JSON:
// wall and CPU seconds of the whole run and the number of documents.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wardsec/ward/bench/internal/measure"
	"github.com/wardsec/ward/pkg/manifest"
)

func main() {
	mode := flag.String("mode", "nodes", "nodes, sigs or manifest")
	flag.Parse()
	t := measure.Start()
	var docs int
	var err error
	switch *mode {
	case "nodes":
		docs, err = each(flag.Args(), decodeNodes)
	case "sigs":
		docs, err = each(flag.Args(), decodeSigs)
	case "manifest":
		set := manifest.Read(context.Background(), flag.Args(), manifest.Options{})
		docs = len(set.Objects) + set.Ignored
		if len(set.Errors) > 0 {
			err = set.Errors[0]
		}
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parsefloor:", err)
		os.Exit(1)
	}
	wall, cpu := t.Stop()
	measure.Result{Wall: wall, CPU: cpu, Documents: docs}.Print()
}

// each reads the files below paths in parallel and calls decode on each.
func each(paths []string, decode func([]byte) (int, error)) (int, error) {
	files, err := measure.Files(paths)
	if err != nil {
		return 0, err
	}
	var docs atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	next := make(chan string)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for f := range next {
				data, err := os.ReadFile(f)
				if err == nil {
					var n int
					n, err = decode(data)
					docs.Add(int64(n))
				}
				if err != nil {
					first.CompareAndSwap(nil, fmt.Errorf("%s: %w", f, err))
				}
			}
		})
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	if e, ok := first.Load().(error); ok {
		return 0, e
	}
	return int(docs.Load()), nil
}

func decodeNodes(data []byte) (int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// decodeSigs splits at "---" lines and converts each document as kubectl does.
func decodeSigs(data []byte) (int, error) {
	n := 0
	for doc := range bytes.SplitSeq(data, []byte("\n---\n")) {
		var v any
		if err := sigsyaml.Unmarshal(doc, &v); err != nil {
			return n, err
		}
		if v != nil {
			n++
		}
	}
	return n, nil
}
