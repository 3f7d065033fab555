package compressors

import "fmt"

// Resolve maps joblib.dump's compress= argument and the file name to a
// codec and level, the way joblib does. It returns the zero Codec (Name
// "") when the file is to be written uncompressed.
//
// name is the method: "" when compress= is a bool or an int, the codec's
// name when it is a string or a (name, level) tuple. level is the level:
// -1 for none given (compress=True or compress="name"), 0 for
// compress=False or 0, n for compress=n or (name, n).
//
//	compress=        Go call                       result
//	True             Resolve("", -1, path)         zlib 3, or the extension's codec at its default
//	n (int)          Resolve("", n, path)          zlib n, or the extension's codec at n
//	0 / False        Resolve("", 0, path)          none, or the extension's codec at its default
//	"gzip"           Resolve("gzip", -1, path)     gzip 3, whatever the extension
//	("gzip", n)      Resolve("gzip", n, path)      gzip n; n = 0 means none
//
// The extension counts only when no name is given, as in joblib. Levels
// outside the codec's range fail with ErrLevel, unknown and read-only
// codecs with ErrUnknown.
func Resolve(name string, level int, path string) (Codec, int, error) {
	if level < -1 {
		return Codec{}, 0, fmt.Errorf("%w: %d", ErrLevel, level)
	}
	var c Codec
	if name != "" {
		var ok bool
		if c, ok = Lookup(name); !ok || c.NewWriter == nil {
			return Codec{}, 0, fmt.Errorf("%w: %q", ErrUnknown, name)
		}
		if level == 0 {
			return Codec{}, 0, nil
		}
	} else if ext, ok := ByExtension(path); ok {
		c = ext
		if level == 0 {
			level = -1
		}
	} else {
		if level == 0 {
			return Codec{}, 0, nil
		}
		c, _ = Lookup(Zlib)
	}
	l, err := c.level(level)
	if err != nil {
		return Codec{}, 0, err
	}
	return c, l, nil
}
