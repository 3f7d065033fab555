package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/store"
)

var convertCmd = &command{
	name:     "convert",
	synopsis: "[--compress NAME[:LEVEL]] [--protocol N] [--max-bytes SIZE] [--max-ratio R] IN OUT",
	summary:  "Rewrite any loadable file as a joblib file.",
	help: `IN may be any file that jlstore loads: every codec, every pickle protocol,
pre-0.10 joblib files and plain pickles. OUT is what joblib 1.2+ writes:
Python's joblib.load(OUT) gives what joblib.load(IN) gives, with the same
classes, attributes, containers and values, and arrays of the same dtype
(byte order may become native), shape and values.

Without --compress OUT is uncompressed, with each array 16-byte aligned, so
that jlstore Open and joblib.load(OUT, mmap_mode="r") map it. NAME is zlib,
gzip, bz2, lzma, xz, lz4, or zstd (which Python's joblib cannot read);
LEVEL defaults to joblib's for that codec. The extension of OUT does not
choose the codec. OUT is written to a temporary file and renamed, so it is
never left half-written.

examples:
  jlstore convert model.pkl.gz model.pkl                 # decompress, ready for mmap
  jlstore convert --compress lz4 model.pkl model.pkl.lz4
  jlstore convert --compress zlib:9 --protocol 5 old.pkl new.pkl.z`,
	run: runConvert,
}

func runConvert(c *cli, args []string) error {
	fs := c.flags()
	compress := fs.String("compress", "", "compress OUT with codec `NAME[:LEVEL]` ("+strings.Join(writableCodecs(), ", ")+")")
	protocol := fs.Int("protocol", 4, "pickle protocol of OUT, `N` from 2 to 5")
	var lim limits
	lim.register(fs)
	pos, err := c.parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	dumpOpts, err := dumpOptions(*compress, *protocol)
	if err != nil {
		return err
	}
	in, out := pos[0], pos[1]
	size := fileSize(in)
	sp := c.spinner(size, "loading "+filepath.Base(in))
	v, err := store.Load(in, lim.options()...)
	sp.done()
	if err != nil {
		return err
	}
	sp = c.spinner(size, "writing "+filepath.Base(out))
	err = store.Dump(out, v, dumpOpts...)
	sp.done()
	return err
}

// dumpOptions parses --compress and --protocol.
func dumpOptions(compress string, protocol int) ([]store.DumpOption, error) {
	if protocol < 2 || protocol > 5 {
		return nil, usagef("--protocol %d: jlstore writes protocols 2 to 5", protocol)
	}
	opts := []store.DumpOption{store.Protocol(protocol)}
	if compress == "" {
		return append(opts, store.Compress("", 0)), nil
	}
	name, levelText, hasLevel := strings.Cut(compress, ":")
	level := -1
	if hasLevel {
		n, err := strconv.Atoi(levelText)
		if err != nil || n < 0 {
			return nil, usagef("--compress %s: bad level %q", compress, levelText)
		}
		level = n
	}
	codec, ok := compressors.Lookup(name)
	if !ok || codec.NewWriter == nil {
		return nil, usagef("--compress %s: unknown codec %q (have %s)", compress, name, strings.Join(writableCodecs(), ", "))
	}
	if level >= 0 && !codec.ValidLevel(level) {
		return nil, usagef("--compress %s: level %d is out of range for %s", compress, level, name)
	}
	return append(opts, store.Compress(name, level)), nil
}

// writableCodecs lists the codecs Dump can write.
func writableCodecs() []string {
	var out []string
	for _, n := range compressors.Names() {
		if c, ok := compressors.Lookup(n); ok && c.NewWriter != nil && n != compressors.ZF {
			out = append(out, n)
		}
	}
	return out
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

var exportCmd = &command{
	name:     "export",
	synopsis: "[--max-bytes SIZE] [--max-ratio R] IN OUT.npz | export --npy-dir DIR IN",
	summary:  "Write every array of a file in numpy's own formats, named by its path.",
	help: `With OUT.npz every array becomes a member of one .npz archive (stored, not
compressed; --deflate compresses it); with --npy-dir DIR each array becomes
DIR/NAME.npy. NAME is the array's path made safe as a file name:
$["coef"] -> coef, $.steps[0][1].coef_ -> steps_0_1_coef_; a clash gets a
suffix _2, _3... The mapping from path to name is printed. Arrays keep their
stored dtype, byte order and order; object arrays are stored as numpy stores
them, as a pickle (np.load needs allow_pickle=True for them).

examples:
  jlstore export model.pkl arrays.npz
  python3 -c 'import numpy as np; print(np.load("arrays.npz")["coef_"])'
  jlstore export --npy-dir arrays/ model.pkl.gz`,
	run: runExport,
}

func runExport(c *cli, args []string) error {
	fs := c.flags()
	npyDir := fs.String("npy-dir", "", "write one .npy file per array into `DIR` (created if needed)")
	deflate := fs.Bool("deflate", false, "compress the .npz members (like numpy.savez_compressed)")
	var lim limits
	lim.register(fs)
	n := 2
	if len(args) > 0 && slices.ContainsFunc(args, func(a string) bool {
		return a == "--npy-dir" || a == "-npy-dir" || strings.HasPrefix(a, "--npy-dir=") || strings.HasPrefix(a, "-npy-dir=")
	}) {
		n = 1
	}
	pos, err := c.parse(fs, args, n, n)
	if err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	if *npyDir == "" && n == 1 {
		return usagef("--npy-dir needs a directory")
	}
	in := pos[0]
	f, err := store.Open(in, lim.options(store.WithByteOrder(store.ByteOrderKeep))...)
	if err != nil {
		return err
	}
	defer f.Close()
	infos := f.Arrays()
	names := exportNames(infos)
	var total int64
	for _, info := range infos {
		total += info.NBytes
	}
	bar := c.progress(total, "exporting")
	defer bar.finish()
	if *npyDir != "" {
		if err := os.MkdirAll(*npyDir, 0o755); err != nil {
			return err
		}
		for i, info := range infos {
			dst := filepath.Join(*npyDir, names[i]+".npy")
			if err := ndarray.SaveNpy(dst, info.Array); err != nil {
				return fileErr(dst, fmt.Errorf("array %s: %w", info.Path, err))
			}
			bar.add(info.NBytes)
			fmt.Fprintf(c.stdout, "%s\t%s\n", info.Path, dst)
		}
		return f.Close()
	}
	out := pos[1]
	var opts []ndarray.NpzOption
	if *deflate {
		opts = append(opts, ndarray.Compressed(-1))
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := ndarray.NewNpzWriter(tmp, opts...)
	for i, info := range infos {
		if err := zw.Add(names[i], info.Array); err != nil {
			tmp.Close()
			return fileErr(out, fmt.Errorf("array %s: %w", info.Path, err))
		}
		bar.add(info.NBytes)
		fmt.Fprintf(c.stdout, "%s\t%s\n", info.Path, names[i])
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return fileErr(out, err)
	}
	if err := tmp.Close(); err != nil {
		return fileErr(out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	return f.Close()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// exportNames makes each array's path a unique, filesystem-safe name.
func exportNames(infos []store.ArrayInfo) []string {
	used := map[string]bool{}
	out := make([]string, len(infos))
	for i, info := range infos {
		base := strings.TrimPrefix(info.Path, "$")
		base = unsafeName.ReplaceAllString(base, "_")
		base = strings.Trim(base, "_.")
		if base == "" {
			base = "root"
		}
		if len(base) > 200 {
			base = base[:200]
		}
		name := base
		for k := 2; used[strings.ToLower(name)]; k++ {
			name = base + "_" + strconv.Itoa(k)
		}
		used[strings.ToLower(name)] = true
		out[i] = name
	}
	return out
}
