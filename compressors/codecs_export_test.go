package compressors

import (
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

// The libraries' constructors, for tests that bypass the package's
// reader setup.
func zlibNewReader(r io.Reader) (io.ReadCloser, error) { return zlib.NewReader(r) }
func gzipNewReader(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }
