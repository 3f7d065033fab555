package main

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

type plotFile struct{ name, title string }

// Colors by implementation, so that every plot reads the same way.
var (
	colJlstore = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colPython  = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colPeer    = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colLimit   = color.RGBA{R: 127, G: 127, B: 127, A: 255}
	colNumpy   = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	colOther   = color.RGBA{R: 148, G: 103, B: 189, A: 255}
)

func implColor(impl string) color.Color {
	switch impl {
	case "jlstore":
		return colJlstore
	case "python":
		return colPython
	case "go-peer":
		return colPeer
	}
	return colLimit
}

// writePlots draws every plot it has data for and returns them.
func writePlots(res *Results, dir string) ([]plotFile, error) {
	var out []plotFile
	for _, f := range []func(*Results, string) (plotFile, bool, error){plotLoadVsSize, plotCodecs, plotRSS} {
		pf, ok, err := f(res, dir)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, pf)
		}
	}
	return out, nil
}

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	return p
}

// durTicks marks powers of ten of seconds on a log axis.
type durTicks struct{}

func (durTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		v := math.Pow(10, e)
		ts = append(ts, plot.Tick{Value: v, Label: fmtDur(v)})
		for k := 2.0; k < 10; k++ {
			ts = append(ts, plot.Tick{Value: k * v})
		}
	}
	return ts
}

// plotLoadVsSize: time to a usable array against the file size, log-log,
// one line per method.
func plotLoadVsSize(res *Results, dir string) (plotFile, bool, error) {
	series := []struct {
		group, method, label string
		dash                 bool
		col                  color.Color
		width                float64
	}{
		{"load", "jlstore Load", "jlstore Load (stream)", false, colJlstore, 2.5},
		{"load", "joblib.load", "joblib.load", true, colPython, 2},
		{"load", "np.load (.npy)", "np.load (.npy)", true, colNumpy, 1.5},
		{"load", "npyio.Read (.npy)", "npyio.Read (.npy)", true, colPeer, 1.5},
		{"load", "limit: read(2) into fresh huge pages", "limit: read(2) into fresh huge pages", false, colLimit, 1},
		{"opensum", "jlstore Open+sum", "jlstore Open + read every element", false, colOther, 2.5},
		{"opensum", "joblib.load(mmap_mode='r')+sum", "joblib mmap_mode='r' + sum", true, color.RGBA{R: 188, G: 189, B: 34, A: 255}, 2},
		{"open", "jlstore Open", "jlstore Open (mmap) to a mat.Dense", false, color.RGBA{R: 23, G: 190, B: 207, A: 255}, 2.5},
		{"open", "joblib.load(mmap_mode='r')", "joblib.load(mmap_mode='r')", true, color.RGBA{R: 140, G: 86, B: 75, A: 255}, 2},
	}
	p := newPlot("Time to a usable float64 array, random data, page cache warm", "array size", "time (median)")
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = durTicks{}
	var sizes []int64
	n, hiY := 0, 0.0
	for _, s := range series {
		var xys plotter.XYs
		for _, c := range res.Cases {
			if c.Group != s.group {
				continue
			}
			if t := timeOf(c, s.method); !math.IsNaN(t) && t > 0 {
				xys = append(xys, plotter.XY{X: float64(c.Size), Y: t})
				hiY = math.Max(hiY, t)
				if !slices.Contains(sizes, c.Size) {
					sizes = append(sizes, c.Size)
				}
			}
		}
		if len(xys) == 0 {
			continue
		}
		slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return plotFile{}, false, err
		}
		l.Color, pts.Color = s.col, s.col
		l.Width = vg.Points(s.width)
		if s.dash {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(2.5)
		p.Add(l, pts)
		p.Legend.Add(s.label, l, pts)
		n++
	}
	if n == 0 {
		return plotFile{}, false, nil
	}
	slices.Sort(sizes)
	var ticks plot.ConstantTicks
	for _, s := range sizes {
		ticks = append(ticks, plot.Tick{Value: float64(s), Label: sizeName(s)})
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = float64(sizes[0])/1.5, float64(sizes[len(sizes)-1])*1.5
	p.Y.Max = hiY * 100 // room for the legend above the lines
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(-4)
	p.Add(plotter.NewGrid())
	pf := plotFile{"load_vs_size.png", "Load time against array size, log-log (mmap Open is flat; streaming loads grow with the size)"}
	return pf, true, p.Save(9*vg.Inch, 6*vg.Inch, filepath.Join(dir, pf.name))
}

// bars draws one series of a grouped bar chart, from base to each value,
// on any scale (gonum's BarChart starts at 0, which a log axis cannot
// show).
type bars struct {
	vals       []float64
	base       float64
	bases      []float64 // per value, overriding base when set
	width      vg.Length
	offset     vg.Length
	color      color.Color
	horizontal bool
	labels     bool
	format     func(float64) string
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.TextStyle{Color: color.Black, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler}
	sty.Font.Size = vg.Points(8)
	for i, v := range b.vals {
		base := b.base
		if b.bases != nil {
			base = b.bases[i]
		}
		if math.IsNaN(v) || v <= base {
			continue
		}
		var pts []vg.Point
		var tip vg.Point
		if b.horizontal {
			y := trY(float64(i)) + b.offset
			x0, x1 := trX(base), trX(v)
			pts = []vg.Point{{X: x0, Y: y - b.width/2}, {X: x1, Y: y - b.width/2}, {X: x1, Y: y + b.width/2}, {X: x0, Y: y + b.width/2}}
			tip = vg.Point{X: x1 + vg.Points(3), Y: y - sty.Font.Size/3}
		} else {
			x := trX(float64(i)) + b.offset
			y0, y1 := trY(base), trY(v)
			pts = []vg.Point{{X: x - b.width/2, Y: y0}, {X: x + b.width/2, Y: y0}, {X: x + b.width/2, Y: y1}, {X: x - b.width/2, Y: y1}}
			tip = vg.Point{X: x + sty.Font.Size/3, Y: y1 + vg.Points(3)}
		}
		c.FillPolygon(b.color, c.ClipPolygonXY(pts))
		if b.labels && b.format != nil {
			s := sty
			if !b.horizontal {
				s.Rotation = math.Pi / 2
			}
			c.FillText(s, tip, b.format(v))
		}
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	hi := b.base
	for _, v := range b.vals {
		if !math.IsNaN(v) {
			hi = math.Max(hi, v)
		}
	}
	lo, top := -0.5, float64(len(b.vals))-0.5
	if b.horizontal {
		return b.base, hi, lo, top
	}
	return lo, top, b.base, hi
}

func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(b.color, c.ClipPolygonY(pts))
}

// mibTicks marks round numbers of MiB on a linear axis.
type mibTicks struct{}

func (mibTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Pow(10, math.Floor(math.Log10(hi-lo)))
	if (hi-lo)/step < 4 {
		step /= 2
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
	}
	return ts
}

// rateTicks marks MB/s on a log axis.
type rateTicks struct{}

func (rateTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		v := math.Pow(10, e)
		ts = append(ts, plot.Tick{Value: v, Label: fmtRate(v * 1e6)})
		for k := 2.0; k < 10; k++ {
			ts = append(ts, plot.Tick{Value: k * v})
		}
	}
	return ts
}

// plotCodecs: load throughput per codec, jlstore against joblib, with
// the decoders alone, on the largest smooth codec case.
func plotCodecs(res *Results, dir string) (plotFile, bool, error) {
	c := res.largest("codec", "smooth")
	if c == nil {
		return plotFile{}, false, nil
	}
	var codecs []string
	for _, r := range c.Rows {
		if r.Codec != "" && !slices.Contains(codecs, r.Codec) {
			codecs = append(codecs, r.Codec)
		}
	}
	series := []struct {
		label string
		name  func(codec string) string
		col   color.Color
	}{
		{"jlstore Load", func(k string) string { return "jlstore Load (" + k + ")" }, colJlstore},
		{"joblib.load", func(k string) string { return "joblib.load (" + k + ")" }, colPython},
		{"Go decoder alone, 1 core", func(k string) string { return "limit: Go " + k + " decoder, 1 core" }, color.RGBA{R: 158, G: 202, B: 225, A: 255}},
		{"C decoder alone (Python module)", func(k string) string { return "limit: C " + k + " decoder (Python module)" }, color.RGBA{R: 253, G: 208, B: 162, A: 255}},
	}
	p := newPlot(fmt.Sprintf("Compressed load throughput, %s float64, %s", c.Data, sizeName(c.Size)), "codec (joblib's default level: zlib, gzip 3; bz2 9; xz 6; lz4 0)", "decoded MB/s (log)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = rateTicks{}
	w := vg.Points(14)
	lo := math.Inf(1)
	var all []*bars
	for si, s := range series {
		vals := make([]float64, len(codecs))
		for i, k := range codecs {
			vals[i] = math.NaN()
			if r := c.row(s.name(k)); r != nil && len(r.times()) > 0 {
				vals[i] = c.rate(r) / 1e6
			}
			if !math.IsNaN(vals[i]) {
				lo = math.Min(lo, vals[i])
			}
		}
		b := &bars{vals: vals, width: w, offset: w * vg.Length(float64(si)-1.5), color: s.col, labels: true,
			format: func(v float64) string { return fmt.Sprintf("%.0f", v) }}
		all = append(all, b)
		p.Legend.Add(s.label, b)
	}
	if math.IsInf(lo, 1) {
		return plotFile{}, false, nil
	}
	base := math.Pow(10, math.Floor(math.Log10(lo)))
	hi := 0.0
	for _, b := range all {
		b.base = base
		p.Add(b)
		for _, v := range b.vals {
			if !math.IsNaN(v) {
				hi = math.Max(hi, v)
			}
		}
	}
	p.Y.Max = hi * 4 // room for the labels and the legend
	p.NominalX(codecs...)
	p.X.Min, p.X.Max = -0.6, float64(len(codecs))-0.4
	p.Y.Min = base
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	pf := plotFile{"codec_throughput.png", fmt.Sprintf("Load throughput per codec against Python's joblib, %s float64, %s (bars labelled in MB/s)", c.Data, sizeName(c.Size))}
	return pf, true, p.Save(9*vg.Inch, 5.5*vg.Inch, filepath.Join(dir, pf.name))
}

// plotRSS: peak RSS per method, split into what the process held before
// the timed call (interpreter or runtime, imports) and what the call
// added, at the size of the largest compressed case when there is an
// uncompressed case of that size too, else at the largest uncompressed
// size.
func plotRSS(res *Results, dir string) (plotFile, bool, error) {
	load := res.largest("load", "")
	if cc := res.largest("codec", "smooth"); cc != nil {
		for _, c := range res.Cases {
			if c.Group == "load" && c.Size == cc.Size {
				load = c
			}
		}
	}
	if load == nil {
		return plotFile{}, false, nil
	}
	size := load.Size
	type entry struct {
		label        string
		impl         string
		before, peak float64
	}
	var es []entry
	addRows := func(c *CaseResult, keep func(*RowResult) bool, suffix string) {
		if c == nil {
			return
		}
		for _, r := range c.Rows {
			if !keep(r) || len(r.HWM) == 0 || (r.Err != "" && len(r.First) == 0) {
				continue
			}
			peak := medianInt(r.HWM) / (1 << 20)
			es = append(es, entry{r.Method + suffix, r.Impl, peak - medianInt(r.Growth)/(1<<20), peak})
		}
	}
	addRows(load, func(r *RowResult) bool { return r.Impl != "limit" || strings.Contains(r.Method, "huge") }, "")
	for _, c := range res.Cases {
		if c.Size == size && c.Group == "opensum" {
			addRows(c, func(r *RowResult) bool { return true }, " *")
		}
		if c.Size == size && c.Group == "codec" && c.Data == "smooth" {
			addRows(c, func(r *RowResult) bool {
				return r.Impl == "jlstore" || r.Impl == "python" && strings.HasPrefix(r.Method, "joblib")
			}, "")
		}
	}
	if len(es) == 0 {
		return plotFile{}, false, nil
	}
	slices.Reverse(es) // gonum draws the first category at the bottom
	labels := make([]string, len(es))
	impls := []string{"jlstore", "python", "go-peer", "limit"}
	peaks, befores := map[string][]float64{}, make([]float64, len(es))
	for _, impl := range impls {
		peaks[impl] = make([]float64, len(es))
		for j := range peaks[impl] {
			peaks[impl][j] = math.NaN()
		}
	}
	hi := 0.0
	for i, e := range es {
		labels[i] = strings.ReplaceAll(e.label, "mmap_mode='r'", "mmap")
		peaks[e.impl][i] = e.peak
		befores[i] = e.before
		hi = math.Max(hi, e.peak)
	}
	p := newPlot(fmt.Sprintf("Peak RSS (VmHWM) of one load in a fresh process, %s of float64", sizeName(size)), "MiB", "")
	names := map[string]string{"jlstore": "jlstore", "python": "Python (joblib, numpy, pickle)", "go-peer": "Go peers", "limit": "limit (read(2))"}
	pale := &bars{vals: befores, width: vg.Points(11), color: color.RGBA{R: 210, G: 210, B: 210, A: 255}, horizontal: true}
	p.Add(pale)
	p.Legend.Add("held before the call (runtime, imports)", pale)
	for _, impl := range impls {
		b := &bars{vals: peaks[impl], bases: befores, width: vg.Points(11), color: implColor(impl), horizontal: true, labels: true,
			format: func(v float64) string { return fmt.Sprintf("%.0f", v) }}
		p.Add(b)
		p.Legend.Add(names[impl]+": added by the call", b)
	}
	ref, err := plotter.NewLine(plotter.XYs{{X: float64(size) / (1 << 20), Y: -0.5}, {X: float64(size) / (1 << 20), Y: float64(len(es)) - 0.5}})
	if err != nil {
		return plotFile{}, false, err
	}
	ref.Color = color.Black
	ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(ref)
	p.Legend.Add("array size", ref)
	p.NominalY(labels...)
	p.X.Min, p.X.Max = 0, hi*1.8
	p.X.Tick.Marker = mibTicks{}
	p.Legend.Top = true
	p.Legend.YOffs = -vg.Points(4)
	p.Legend.XOffs = -vg.Points(4)
	p.Add(plotter.NewGrid())
	pf := plotFile{"peak_rss.png", fmt.Sprintf("Peak RSS per method, %s of float64 (grey: held before the timed call; * mapped page-cache pages, shared between processes)", sizeName(size))}
	return pf, true, p.Save(10*vg.Inch, vg.Length(1.3+0.24*float64(len(es)))*vg.Inch, filepath.Join(dir, pf.name))
}
