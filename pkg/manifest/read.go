package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wardsec/ward/internal/parallel"
)

// DefaultMaxFileSize is the largest file ward reads unless told otherwise.
const DefaultMaxFileSize = 10 << 20

// StdinName is the path that means standard input, and the name findings in it carry.
const StdinName = "-"

// Options tune reading.
type Options struct {
	// MaxFileSize bounds each file and standard input; 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// Stdin is read for the path "-"; nil means os.Stdin.
	Stdin io.Reader
	// Kustomize makes each directory that holds a kustomization file a unit that
	// Kustomize renders: it is listed in Set.Kustomizations and nothing below it is read
	// as a plain manifest. A file or directory named on the command line that lies
	// below such a directory (up to the working directory) stands for it.
	Kustomize bool
	// Builder makes the objects' values (Object.Decoded); nil means MapBuilder, whose
	// values are also in Object.Value.
	Builder Builder
	// OnFile, if set, is handed the objects of each file as soon as the file is read,
	// on the goroutine that read it, and they are not kept in Set.Objects: a caller
	// that keeps less of each object than Read would (ward lint over a large manifest
	// set) then never holds every object at once. index is the file's place in the
	// input order; calls come in any order and concurrently. The objects' position
	// indexes are alive during the call.
	OnFile func(index int, objects []*Object)
}

// Set is everything read from a list of paths, in input order: paths in the order given,
// files within a directory in lexical order, documents in file order.
type Set struct {
	Files   int
	Objects []*Object
	// Ignored counts documents that are not Kubernetes objects (a kustomization, a Helm
	// values file, a bare list): read, counted, never an error.
	Ignored int
	Errors  []*Error
	// Kustomizations are the directories to render with Kustomize (Options.Kustomize),
	// cleaned, in the order found.
	Kustomizations []string
}

// Read reads paths: files, directories (recursively, .yaml .yml .json, hidden
// directories skipped) and "-" for standard input. An unreadable path or a broken
// document becomes an Error in the Set and reading goes on.
func Read(ctx context.Context, paths []string, opts Options) *Set {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	set := &Set{}
	var kust *kustomizations
	if opts.Kustomize {
		kust = newKustomizations()
	}
	files := expand(paths, set, kust)
	if kust != nil {
		set.Kustomizations = kust.dirs
	}
	results := make([]fileResult, len(files))

	parallel.For(len(files), func(i int) {
		if err := ctx.Err(); err != nil {
			results[i].errs = []*Error{{File: files[i], Err: err}}
			return
		}
		results[i] = readOne(files[i], opts)
		if opts.OnFile != nil {
			opts.OnFile(i, results[i].objects)
			results[i].objects = nil
		}
	})

	set.Files = len(files)
	for _, r := range results {
		set.Objects = append(set.Objects, r.objects...)
		set.Ignored += r.ignored
		set.Errors = append(set.Errors, r.errs...)
	}
	return set
}

// expand turns the paths into the list of files to read, recording errors for paths that
// cannot be walked. With kust set, kustomization directories are collected instead of
// the files below them.
func expand(paths []string, set *Set, kust *kustomizations) []string {
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		if f != StdinName {
			key := filepath.Clean(f)
			if seen[key] {
				return
			}
			seen[key] = true
		}
		files = append(files, f)
	}
	for _, p := range paths {
		if p == StdinName {
			add(p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			set.Errors = append(set.Errors, &Error{File: p, Err: pathError(err)})
			continue
		}
		if kust != nil && (info.IsDir() || info.Mode().IsRegular()) {
			// A path below a kustomization stands for it; a directory that is one
			// itself is walked, for the kustomizations below it.
			if dir := kust.enclosing(p, info.IsDir()); dir != "" && (!info.IsDir() || filepath.Clean(dir) != filepath.Clean(p)) {
				kust.add(dir)
				continue
			}
		}
		switch {
		case info.IsDir():
			walkDir(p, set, add, kust)
		case info.Mode().IsRegular(), info.Mode()&(fs.ModeNamedPipe|fs.ModeCharDevice) != 0:
			// A pipe or character device named on the command line is read, as cat would
			// read it: `ward lint <(helm template .)` names /dev/fd/63, a pipe. The size
			// limit bounds what an endless one (/dev/zero) costs. Walks skip them.
			add(p)
		default:
			set.Errors = append(set.Errors, &Error{File: p, Err: fmt.Errorf("not a regular file or directory (%s)", info.Mode().Type())})
		}
	}
	return files
}

func walkDir(root string, set *Set, add func(string), kust *kustomizations) {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			set.Errors = append(set.Errors, &Error{File: p, Err: pathError(err)})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			// Walk on below a kustomization: a directory under it may hold another.
			if kust != nil && KustomizationFile(p) != "" {
				kust.add(p)
			}
			return nil
		}
		if kust != nil && kust.covers(p) {
			return nil
		}
		if !manifestExt(p) {
			return nil
		}
		// Regular files, and links to regular files. Links to directories are not
		// followed (no loops), and FIFOs and devices are skipped: reading one could block.
		if d.Type()&fs.ModeSymlink != 0 {
			info, err := os.Stat(p)
			if err != nil {
				set.Errors = append(set.Errors, &Error{File: p, Err: pathError(err)})
				return nil
			}
			if !info.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		add(p)
		return nil
	})
	if err != nil {
		set.Errors = append(set.Errors, &Error{File: root, Err: pathError(err)})
	}
}

func manifestExt(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func pathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

func readOne(name string, opts Options) fileResult {
	data, regular, err := readLimited(name, opts)
	if err != nil {
		return fileResult{errs: []*Error{{File: name, Err: err}}}
	}
	res := parseFile(name, data, opts.Builder)
	if regular {
		// A regular file can be read again to place a finding (Object.ReleaseText); a
		// pipe named on the command line cannot.
		for _, o := range res.objects {
			o.src.file, o.src.limit = name, opts.MaxFileSize
		}
	}
	return res
}

// readLimited reads a file, or standard input for StdinName; regular says that it is
// a regular file (which can be read again).
func readLimited(name string, opts Options) (data []byte, regular bool, err error) {
	var r io.Reader
	size := int64(-1)
	if name == StdinName {
		r = opts.Stdin
		if r == nil {
			r = os.Stdin
		}
	} else {
		f, err := os.Open(name) //nolint:gosec // G304: reading the files the user asked to lint is the job
		if err != nil {
			return nil, false, pathError(err)
		}
		defer func() { _ = f.Close() }() // read-only: closing cannot lose data
		if info, err := f.Stat(); err == nil {
			if info.Size() > opts.MaxFileSize {
				return nil, false, fmt.Errorf("%w (%d bytes > %d)", ErrTooLarge, info.Size(), opts.MaxFileSize)
			}
			regular = info.Mode().IsRegular()
			if regular {
				size = info.Size()
			}
		}
		r = f
	}
	data, err = readAll(io.LimitReader(r, opts.MaxFileSize+1), size)
	if err != nil {
		return nil, false, fmt.Errorf("read: %w", pathError(err))
	}
	if int64(len(data)) > opts.MaxFileSize {
		return nil, false, fmt.Errorf("%w (more than %d bytes)", ErrTooLarge, opts.MaxFileSize)
	}
	return data, regular, nil
}

// readAll is io.ReadAll into a buffer of the file's size, when it is known, as
// os.ReadFile reads: io.ReadAll grows its buffer from 512 bytes, allocating some
// twice what it reads (56 MB for the 22 MB of the 10,000-file benchmark corpus).
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	// One byte more than the size, so that a file read whole ends in io.EOF without
	// growing the buffer; a file that grew meanwhile is read on, as io.ReadAll would.
	data := make([]byte, 0, size+1)
	for {
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// Parse decodes data as if read from a file called name. It is Read for one in-memory
// file; the webhook and tests use it.
func Parse(name string, data []byte) *Set {
	return ParseWith(name, data, nil)
}

// ParseWith is Parse with the objects' values made by b (nil: MapBuilder).
func ParseWith(name string, data []byte, b Builder) *Set {
	r := parseFile(name, data, b)
	return &Set{Files: 1, Objects: r.objects, Ignored: r.ignored, Errors: r.errs}
}
