package ndarray

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jlstore/jlstore/pickle"
)

// maxLiteralDepth bounds the nesting of a .npy header literal.
const maxLiteralDepth = 3 * maxDTypeDepth

// literalParser reads the Python literals that .npy headers hold: dicts,
// lists, tuples, str, int (with Python 2's L suffix), True, False and
// None. It is a parser, not an evaluator: nothing else is accepted.
type literalParser struct {
	s     string
	i     int
	base  int64 // offset of s in the input, for errors
	depth int
}

func (p *literalParser) errorf(format string, args ...any) error {
	return formatErr("npy", p.base+int64(p.i), ErrCorrupt, "header: "+format, args...)
}

// parseLiteral parses s, which must hold exactly one literal.
func parseLiteral(s string, base int64) (any, error) {
	p := &literalParser{s: s, base: base}
	if !utf8.ValidString(s) {
		return nil, p.errorf("text is not UTF-8")
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected %q after the literal", p.s[p.i])
	}
	return v, nil
}

func (p *literalParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.i++
		default:
			return
		}
	}
}

func (p *literalParser) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end")
	}
	c := p.s[p.i]
	switch {
	case c == '{' || c == '[' || c == '(':
		p.depth++
		if p.depth > maxLiteralDepth {
			return nil, formatErr("npy", p.base+int64(p.i), ErrTooLarge, "header literal nested deeper than %d", maxLiteralDepth)
		}
		defer func() { p.depth-- }()
		switch c {
		case '{':
			return p.dict()
		case '[':
			items, _, err := p.items(']')
			if err != nil {
				return nil, err
			}
			return &pickle.List{Items: items}, nil
		}
		items, comma, err := p.items(')')
		if err != nil {
			return nil, err
		}
		if len(items) == 1 && !comma {
			return items[0], nil
		}
		return pickle.Tuple(items), nil
	case c == '\'' || c == '"':
		return p.str(false)
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.int()
	case c == 'u' || c == 'U' || c == 'r' || c == 'R':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '\'' || p.s[p.i+1] == '"') {
			p.i++
			return p.str(c == 'r' || c == 'R')
		}
	}
	start := p.i
	for p.i < len(p.s) && (isIdent(p.s[p.i])) {
		p.i++
	}
	switch p.s[start:p.i] {
	case "True":
		return true, nil
	case "False":
		return false, nil
	case "None":
		return nil, nil
	}
	p.i = start
	return nil, p.errorf("unexpected %q", p.s[p.i])
}

func isIdent(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// items reads comma-separated values up to end; comma reports a trailing
// or separating comma (which makes "(x,)" a tuple).
func (p *literalParser) items(end byte) ([]any, bool, error) {
	p.i++
	var out []any
	comma := false
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, false, p.errorf("missing %q", end)
		}
		if p.s[p.i] == end {
			p.i++
			if out == nil {
				out = []any{}
			}
			return out, comma, nil
		}
		if len(out) > 0 && !comma {
			return nil, false, p.errorf("missing ','")
		}
		v, err := p.value()
		if err != nil {
			return nil, false, err
		}
		out = append(out, v)
		p.space()
		comma = false
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			comma = true
		}
	}
}

func (p *literalParser) dict() (any, error) {
	p.i++
	d := pickle.NewDict()
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, p.errorf("missing '}'")
		}
		if p.s[p.i] == '}' {
			p.i++
			return d, nil
		}
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("missing ':'")
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if err := d.Set(k, v); err != nil {
			return nil, p.errorf("dict key: %v", err)
		}
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		} else if p.i < len(p.s) && p.s[p.i] != '}' {
			return nil, p.errorf("missing ','")
		}
	}
}

func (p *literalParser) int() (any, error) {
	start := p.i
	if p.s[p.i] == '-' || p.s[p.i] == '+' {
		p.i++
	}
	d := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == d {
		return nil, p.errorf("bad number")
	}
	if p.i-d > 1 && p.s[d] == '0' {
		return nil, p.errorf("bad number %q", p.s[start:p.i])
	}
	n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	if err != nil {
		return nil, formatErr("npy", p.base+int64(start), ErrTooLarge, "header: number %q out of range", p.s[start:p.i])
	}
	// Python 2 wrote long integers with an L.
	if p.i < len(p.s) && (p.s[p.i] == 'L' || p.s[p.i] == 'l') {
		p.i++
	}
	if p.i < len(p.s) && (isIdent(p.s[p.i]) || p.s[p.i] == '.') {
		return nil, p.errorf("unsupported number %q", p.s[start:p.i+1])
	}
	return n, nil
}

func (p *literalParser) str(raw bool) (any, error) {
	q := p.s[p.i]
	p.i++
	if strings.HasPrefix(p.s[p.i:], string([]byte{q, q})) {
		return nil, p.errorf("triple-quoted strings are not supported")
	}
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated string")
		}
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\n':
			return nil, p.errorf("newline in string")
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return nil, p.errorf("unterminated string")
			}
			if raw {
				b.WriteByte(c)
				b.WriteByte(p.s[p.i+1])
				p.i += 2
				continue
			}
			if err := p.escape(&b); err != nil {
				return nil, err
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
}

// escape reads one backslash escape at p.i.
func (p *literalParser) escape(b *strings.Builder) error {
	c := p.s[p.i+1]
	p.i += 2
	simple := map[byte]byte{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11}
	if r, ok := simple[c]; ok {
		b.WriteByte(r)
		return nil
	}
	switch c {
	case '\n':
		return nil
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if p.i+n > len(p.s) {
			return p.errorf("truncated \\%c escape", c)
		}
		v, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
		if err != nil || v > unicode.MaxRune {
			return p.errorf("bad \\%c escape", c)
		}
		p.i += n
		b.WriteString(string(appendRunePass(nil, rune(v))))
		return nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v := rune(c - '0')
		for k := 0; k < 2 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7'; k++ {
			v = v*8 + rune(p.s[p.i]-'0')
			p.i++
		}
		b.WriteRune(v)
		return nil
	case 'N':
		return p.errorf("\\N{...} escapes are not supported")
	}
	b.WriteByte('\\')
	b.WriteByte(c)
	return nil
}

// appendRunePass appends r as UTF-8, writing surrogates the way Python's
// surrogatepass does (as the pickle package keeps them).
func appendRunePass(b []byte, r rune) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(b, byte(0xe0|r>>12), byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
	}
	return utf8.AppendRune(b, r)
}

// pyRepr writes v as Python's repr would: str, int, bool, None, tuples and
// lists.
func pyRepr(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case string:
		return pyStrRepr(b, x)
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case nil:
		b.WriteString("None")
	case pickle.Tuple:
		b.WriteByte('(')
		for i, it := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyRepr(b, it); err != nil {
				return err
			}
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *pickle.List:
		b.WriteByte('[')
		for i, it := range x.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyRepr(b, it); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		return fmt.Errorf("ndarray: cannot write a %T in a .npy header: %w", v, ErrUnsupported)
	}
	return nil
}

// pyStrRepr writes Python's repr of a str.
func pyStrRepr(b *strings.Builder, s string) error {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			// A surrogate kept as surrogatepass bytes.
			if i+3 <= len(s) && s[i] == 0xed && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2]&0xc0 == 0x80 {
				r = rune(s[i]&0x0f)<<12 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f)
				n = 3
			} else {
				return fmt.Errorf("ndarray: field name is not valid UTF-8: %w", ErrCorrupt)
			}
		}
		i += n
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteByte(byte(r))
		case r >= 0xd800 && r <= 0xdfff:
			fmt.Fprintf(b, `\u%04x`, r)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return nil
}
