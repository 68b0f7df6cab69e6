package fhir

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// The default limits of a DataReader.
const (
	DefaultMaxLine = 16 << 20  // bytes in one NDJSON line
	DefaultMaxFile = 256 << 20 // bytes in one .json file
)

// DataReader reads DataSources into a Dataset. The zero value uses the
// default limits.
type DataReader struct {
	// MaxLine is the longest NDJSON line, in bytes (after decompression).
	MaxLine int
	// MaxFile is the largest .json file, in bytes: such a file is read
	// whole, so a larger export should be NDJSON, which is streamed.
	MaxFile int64
}

// ReadData reads the sources with the default limits (see DataReader.Read).
func ReadData(sources ...DataSource) (*Dataset, error) { return DataReader{}.Read(sources...) }

// Read walks each source, in order, through its directories in lexical
// order, skipping names that begin with a dot. Every resource is checked as
// MemorySource.Add checks it, and as base FHIR R4 (see intake.go), and its
// Type/id must be new to the whole read unless it is the same resource
// byte for byte after compaction, which is read once); every problem found, not only the first, is returned as a
// *DataError naming file and line, with no Dataset. A source with no data
// file at all is a problem too: it is usually a wrong path.
func (dr DataReader) Read(sources ...DataSource) (*Dataset, error) {
	if dr.MaxLine <= 0 {
		dr.MaxLine = DefaultMaxLine
	}
	if dr.MaxFile <= 0 {
		dr.MaxFile = DefaultMaxFile
	}
	l := &loading{dr: dr, d: &Dataset{}, seen: map[string]place{}}
	for _, src := range sources {
		l.walk(src)
	}
	l.flush()
	if l.errs.Total > 0 {
		return nil, &l.errs
	}
	l.d.summarize()
	return l.d, nil
}

// loading is the state of one Read.
type loading struct {
	dr    DataReader
	d     *Dataset
	errs  DataError
	files []string         // names of the files read, for place
	batch []record         // read, not yet checked
	seen  map[string]place // Type/id → where it was read
}

// place is where a resource was read: a file index, line and entry, and
// its index in the Dataset.
type place struct{ file, line, entry, res int32 }

func (l *loading) String(p place) string {
	return Problem{File: l.files[p.file], Line: int(p.line), Entry: int(p.entry)}.where()
}

// The kinds of data file, by name.
const (
	kindJSON   = ".json"
	kindNDJSON = ".ndjson"
	kindGzip   = ".ndjson.gz"
)

func fileKind(name string) string {
	name = strings.ToLower(name)
	for _, k := range []string{kindGzip, kindNDJSON, kindJSON} {
		if strings.HasSuffix(name, k) {
			return k
		}
	}
	return ""
}

func (l *loading) walk(src DataSource) {
	found, broken := 0, false
	_ = fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
		name := filepath.Join(src.Name, filepath.FromSlash(p))
		switch {
		case err != nil:
			l.problem(Problem{File: name, Entry: -1, Msg: "cannot read: " + pathErr(err)})
			broken = true
			return nil
		case p != "." && strings.HasPrefix(d.Name(), "."):
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case d.IsDir():
			return nil
		}
		kind := fileKind(p)
		if kind == "" {
			l.d.Summary.Skipped = append(l.d.Summary.Skipped, name)
			return nil
		}
		found++
		l.file(src.FS, p, name, kind)
		return nil
	})
	if found == 0 && !broken {
		l.problem(Problem{File: src.Name, Entry: -1, Msg: "no .json, .ndjson or .ndjson.gz file in it"})
	}
}

// pathErr is the reason of a file system error without the path, which the
// problem already names.
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// file reads one data file.
func (l *loading) file(fsys fs.FS, p, name, kind string) {
	f, err := fsys.Open(p)
	if err != nil {
		l.problem(Problem{File: name, Entry: -1, Msg: "cannot read: " + pathErr(err)})
		return
	}
	defer f.Close()
	idx := len(l.files)
	l.files = append(l.files, name)
	l.d.Summary.Files++
	switch kind {
	case kindJSON:
		data, err := io.ReadAll(io.LimitReader(f, l.dr.MaxFile+1))
		switch {
		case err != nil:
			l.fileProblem(idx, "cannot read: "+pathErr(err))
		case int64(len(data)) > l.dr.MaxFile:
			l.fileProblem(idx, "larger than "+size(l.dr.MaxFile)+": a .json file is read whole; write large data as NDJSON")
		default:
			l.jsonFile(idx, data)
		}
	case kindNDJSON:
		l.ndjson(idx, f)
	case kindGzip:
		zr, err := gzip.NewReader(f)
		if err != nil {
			l.fileProblem(idx, "not gzip: "+err.Error())
			return
		}
		l.ndjson(idx, zr)
	}
}

// problem records a problem found while reading, after those of the
// resources read before it.
func (l *loading) problem(p Problem) {
	l.flush()
	l.errs.add(p)
}

func (l *loading) fileProblem(idx int, msg string) {
	l.problem(Problem{File: l.files[idx], Entry: -1, Msg: msg})
}

func (l *loading) lineProblem(idx, line, entry int, msg string) {
	l.problem(Problem{File: l.files[idx], Line: line, Entry: entry, Msg: msg})
}

// add queues one resource to be checked; raw must not change afterwards.
func (l *loading) add(idx, line, entry int, raw []byte) {
	l.batch = append(l.batch, record{idx: idx, line: line, entry: entry, raw: raw})
	if len(l.batch) == batchSize {
		l.flush()
	}
}

// batchSize is how many resources are checked in parallel at a time.
const batchSize = 512

// record is one resource read, and what checking it found.
type record struct {
	idx, line, entry int
	raw              []byte
	r                *stored
	err              error
}

// flush checks the queued resources on every CPU, then keeps them or
// records their problems in the order they were read.
func (l *loading) flush() {
	prepareAll(l.batch)
	for _, rec := range l.batch {
		l.keep(rec)
	}
	clear(l.batch)
	l.batch = l.batch[:0]
}

func prepareAll(recs []record) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(recs)) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(recs)); i = next.Add(1) - 1 {
				recs[i].r, recs[i].err = prepare(recs[i].raw)
				if recs[i].err == nil {
					r := recs[i].r
					recs[i].err = checkBase(r.typ.Name, r.id, r.raw)
				}
			}
		})
	}
	wg.Wait()
}

// keep adds a checked resource to the Dataset, unless it is invalid or its
// Type/id was read before.
func (l *loading) keep(rec record) {
	at := Problem{File: l.files[rec.idx], Line: rec.line, Entry: rec.entry}
	if rec.err != nil {
		var syntax *json.SyntaxError
		if errors.As(rec.err, &syntax) && at.Line == 0 { // a whole .json file
			// json.Compact does not say where: json.Unmarshal does.
			if errors.As(json.Unmarshal(rec.raw, &struct{}{}), &syntax) {
				at.Line = lineOf(rec.raw, syntax.Offset)
			}
		}
		at.Msg = rec.err.Error()
		l.errs.add(at)
		return
	}
	key := rec.r.key()
	if first, dup := l.seen[key]; dup {
		if bytes.Equal(l.d.resources[first.res].raw, rec.r.raw) {
			// The same resource again, byte for byte (a generated set
			// holds the demo members, read beside the demo data).
			l.d.Summary.Identical++
			return
		}
		at.Msg = fmt.Sprintf("%s is also in %s, with other content", key, l.String(first))
		l.errs.add(at)
		return
	}
	l.seen[key] = place{int32(rec.idx), int32(rec.line), int32(rec.entry), int32(len(l.d.resources))}
	l.d.resources = append(l.d.resources, rec.r)
}

var utf8BOM = []byte("\xef\xbb\xbf")

// ndjson reads one resource per line; blank lines are skipped.
func (l *loading) ndjson(idx int, r io.Reader) {
	lr := &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: l.dr.MaxLine}
	for {
		line, err := lr.next()
		switch {
		case err == io.EOF:
			return
		case errors.Is(err, errLineTooLong):
			l.lineProblem(idx, lr.n, -1, "line longer than "+size(int64(lr.max)))
			continue
		case err != nil:
			l.lineProblem(idx, lr.n, -1, "cannot read: "+err.Error())
			return
		}
		if lr.n == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			l.add(idx, lr.n, -1, bytes.Clone(line))
		}
	}
}

// errLineTooLong reports a line over the limit; the reader skips it.
var errLineTooLong = errors.New("line too long")

// lineReader reads lines of at most max bytes, skipping longer ones.
type lineReader struct {
	r   *bufio.Reader
	max int
	n   int    // number of the line last returned
	buf []byte // a line longer than the bufio buffer
}

// next returns the next line without its end, valid until the next call.
func (lr *lineReader) next() ([]byte, error) {
	lr.n++
	lr.buf = lr.buf[:0]
	tooLong := false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !tooLong && len(lr.buf)+len(chunk) > lr.max+2 { // room for "\r\n"
			tooLong, lr.buf = true, lr.buf[:0]
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !tooLong {
				lr.buf = append(lr.buf, chunk...)
			}
			continue
		case err == io.EOF && len(lr.buf) == 0 && len(chunk) == 0 && !tooLong:
			return nil, io.EOF
		case err != nil && err != io.EOF:
			return nil, err
		case tooLong:
			return nil, errLineTooLong
		}
		line := chunk
		if len(lr.buf) > 0 {
			line = append(lr.buf, chunk...)
			lr.buf = line
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) > lr.max {
			return nil, errLineTooLong
		}
		return line, nil
	}
}

// size is n bytes in the unit an operator would write.
func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
