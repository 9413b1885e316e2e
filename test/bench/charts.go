package bench

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart files WriteReport draws besides one latency chart per size.
const (
	cpuChartFile         = "cpu.png"
	rssChartFile         = "rss.png"
	programmingChartFile = "programming.png"
)

const (
	chartWidth  = 9 * vg.Inch
	chartHeight = 5 * vg.Inch
)

// dashes mark the second curve of a server: its relist peak, or stock's
// programming latency through CoreDNS's deployment Corefile.
var dashes = []vg.Length{vg.Points(6), vg.Points(4)}

// errNoData means the run holds nothing the chart could show; the report
// leaves the chart out.
var errNoData = errors.New("nothing to draw")

// latencyChartFile names the latency chart of one size.
func latencyChartFile(size string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, size)
	return "latency-" + safe + ".png"
}

// chartSet records which charts were drawn, so that the report links only
// files that exist.
type chartSet struct {
	dir   string
	drawn map[string]bool
	errs  []error
}

func drawCharts(dir string, run *Run) *chartSet {
	charts := &chartSet{dir: dir, drawn: map[string]bool{}}
	for _, size := range run.Sizes {
		charts.draw(latencyChartFile(size.Name), func(path string) error { return drawLatencyChart(path, size) })
	}
	charts.draw(cpuChartFile, func(path string) error { return drawCPUChart(path, run) })
	charts.draw(rssChartFile, func(path string) error { return drawRSSChart(path, run) })
	charts.draw(programmingChartFile, func(path string) error { return drawProgrammingChart(path, run) })
	return charts
}

func (c *chartSet) draw(file string, drawTo func(path string) error) {
	err := func() (err error) {
		// A drawing bug must not cost the report of a run that took hours:
		// the chart is left out and the report still written.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return drawTo(filepath.Join(c.dir, file))
	}()
	switch {
	case err == nil:
		c.drawn[file] = true
	case !errors.Is(err, errNoData):
		c.errs = append(c.errs, fmt.Errorf("chart %s: %w", file, err))
	}
}

func (c *chartSet) embed(md *markdown, file, alt string) {
	if c.drawn[file] {
		md.paragraph(fmt.Sprintf("![%s](%s)", alt, file))
	}
}

// serverColor gives each server one color in every chart, so a reader
// learns it once.
func serverColor(name string) color.Color {
	switch name {
	case ClusterDNS:
		return color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	case Stock:
		return color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	case Whoami:
		return color.Gray{Y: 0x99}
	}
	return color.Black
}

// makeRoomForLegend raises the top of a linear Y axis so that the legend,
// at the top, sits above the data rather than on it. It must follow every
// Add, which sets the top to the highest value.
func makeRoomForLegend(p *plot.Plot) {
	p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)*1.35
	p.Legend.Top = true
}

func newChart(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(10)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	return p
}

// drawLatencyChart shows the latency percentiles of the uncached cluster mix
// at one size, the load every server runs and the one the targets name.
func drawLatencyChart(path string, size Size) error {
	percentiles := []struct {
		name string
		of   func(Latency) time.Duration
	}{
		{"p50", func(l Latency) time.Duration { return l.P50 }},
		{"p90", func(l Latency) time.Duration { return l.P90 }},
		{"p99", func(l Latency) time.Duration { return l.P99 }},
		{"p99.9", func(l Latency) time.Duration { return l.P999 }},
	}
	groups := make([]string, len(percentiles))
	for i, p := range percentiles {
		groups[i] = p.name
	}
	var series []barSeries
	for _, c := range contenders(size) {
		load := loadAt(size, c.name, loadKind{mix: MixCluster})
		if load == nil {
			continue
		}
		values := make([]float64, len(percentiles))
		for i, p := range percentiles {
			values[i] = millis(p.of(load.Latency))
		}
		series = append(series, barSeries{name: c.name, values: values})
	}
	values := seriesValues(series)
	if !slices.ContainsFunc(values, isPositive) {
		return errNoData
	}
	p := newChart("Latency at "+size.Name+", cluster mix, no cache", "percentile", "latency (ms, log scale)")
	if err := addGroupedBars(p, groups, series); err != nil {
		return err
	}
	useLogScale(&p.Y, values)
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(chartWidth, chartHeight, path)
}

// drawCPUChart compares CPU per query for every size and kind of load.
func drawCPUChart(path string, run *Run) error {
	names := contenderNames(run)
	series := make([]barSeries, len(names))
	for i, name := range names {
		series[i].name = name
	}
	var groups []string
	for _, size := range run.Sizes {
		for _, kind := range loadKinds(size) {
			values := make([]float64, len(names))
			for i, name := range names {
				values[i] = cpuMetric.value(loadAt(size, name, kind))
			}
			if !slices.ContainsFunc(values, isPositive) {
				continue
			}
			groups = append(groups, size.Name+"\n"+kind.mix+"\ncache "+kind.cacheLabel())
			for i := range series {
				series[i].values = append(series[i].values, values[i])
			}
		}
	}
	if len(groups) == 0 {
		return errNoData
	}
	// A server with no CPU figure anywhere would only take up room.
	series = slices.DeleteFunc(series, func(s barSeries) bool { return !slices.ContainsFunc(s.values, isPositive) })
	p := newChart("CPU per query", "size, query mix, cache", "server CPU per query (µs)")
	if err := addGroupedBars(p, groups, series); err != nil {
		return err
	}
	p.Y.Min = 0
	makeRoomForLegend(p)
	return p.Save(chartWidth, chartHeight, path)
}

// drawRSSChart shows memory against cluster size: RSS once synced as a solid
// line, the peak while relisting as a dashed one in the same color.
func drawRSSChart(path string, run *Run) error {
	sizeLabels := make([]string, len(run.Sizes))
	for i, size := range run.Sizes {
		sizeLabels[i] = fmt.Sprintf("%s\n%s Services, %s pods", size.Name,
			groupThousands(int64(size.Services)), groupThousands(int64(size.Pods)))
	}
	p := newChart("Resident memory by cluster size", "cluster size", "RSS (MiB)")
	drawn := false
	for _, name := range contenderNames(run) {
		for _, curve := range []struct {
			label  string
			of     func(Server) uint64
			dashed bool
		}{
			{"after sync", func(s Server) uint64 { return s.RSSSynced }, false},
			{"relist peak", func(s Server) uint64 { return s.RSSRelistPeak }, true},
		} {
			var points plotter.XYs
			for i, size := range run.Sizes {
				if server := serverAt(size, name); server != nil && curve.of(*server) > 0 {
					points = append(points, plotter.XY{X: float64(i), Y: mebibytes(curve.of(*server))})
				}
			}
			if len(points) == 0 {
				continue
			}
			line, dots, err := plotter.NewLinePoints(points)
			if err != nil {
				return err
			}
			line.Color, dots.Color = serverColor(name), serverColor(name)
			line.Width = vg.Points(2)
			dots.Shape, dots.Radius = draw.CircleGlyph{}, vg.Points(4)
			if curve.dashed {
				line.Dashes = dashes
				dots.Shape = draw.TriangleGlyph{}
			}
			p.Add(line, dots)
			p.Legend.Add(serverLabel(name)+", "+curve.label, line, dots)
			drawn = true
		}
	}
	if !drawn {
		return errNoData
	}
	p.NominalX(sizeLabels...)
	p.X.Min, p.X.Max = -0.5, float64(len(sizeLabels))-0.5
	p.Y.Min = 0
	makeRoomForLegend(p)
	p.Legend.Left = true
	return p.Save(chartWidth, chartHeight, path)
}

// drawProgrammingChart shows the distribution of programming latency as an
// empirical CDF per server, pooled over all sizes: each size times only a
// few Services, too few for a distribution of its own.
func drawProgrammingChart(path string, run *Run) error {
	p := newChart("Programming latency, pooled over all sizes",
		"Service create to first answer (ms, log scale)", "fraction of Services")
	var all []float64
	for _, name := range contenderNames(run) {
		for _, curve := range []struct {
			label  string
			of     func(Server) []time.Duration
			dashed bool
		}{
			{"", func(s Server) []time.Duration { return s.Programming }, false},
			{", deployment Corefile", func(s Server) []time.Duration { return s.ProgrammingCache30 }, true},
		} {
			var samples []time.Duration
			for _, size := range run.Sizes {
				if server := serverAt(size, name); server != nil {
					samples = append(samples, curve.of(*server)...)
				}
			}
			if len(samples) == 0 {
				continue
			}
			cdf := empiricalCDF(samples)
			line, err := plotter.NewLine(cdf)
			if err != nil {
				return err
			}
			line.StepStyle = plotter.PostStep
			line.Color = serverColor(name)
			line.Width = vg.Points(2)
			if curve.dashed {
				line.Dashes = dashes
			}
			p.Add(line)
			p.Legend.Add(fmt.Sprintf("%s%s (%d Services)", serverLabel(name), curve.label, len(samples)), line)
			for _, point := range cdf {
				all = append(all, point.X)
			}
		}
	}
	if !slices.ContainsFunc(all, isPositive) {
		return errNoData
	}
	useLogScale(&p.X, all)
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"}, {Value: 0.5, Label: "0.5"}, {Value: 0.75, Label: "0.75"}, {Value: 1, Label: "1"}}
	makeRoomForLegend(p)
	p.Legend.Left = true
	return p.Save(chartWidth, chartHeight, path)
}

// empiricalCDF is the step function through every sample, in milliseconds,
// starting from zero at the fastest.
func empiricalCDF(samples []time.Duration) plotter.XYs {
	sorted := sortedDurations(samples)
	cdf := plotter.XYs{{X: millis(sorted[0]), Y: 0}}
	for i, sample := range sorted {
		cdf = append(cdf, plotter.XY{X: millis(sample), Y: float64(i+1) / float64(len(sorted))})
	}
	return cdf
}

// barSeries is one server's bars, one value per group.
type barSeries struct {
	name   string
	values []float64
}

func seriesValues(series []barSeries) []float64 {
	var values []float64
	for _, s := range series {
		values = append(values, s.values...)
	}
	return values
}

func isPositive(v float64) bool { return v > 0 }

// addGroupedBars draws the series side by side in each named group.
func addGroupedBars(p *plot.Plot, groups []string, series []barSeries) error {
	// The data area is about the canvas less the Y axis; the bars of a group
	// fill 80% of its slot, leaving a gap between groups.
	slot := (chartWidth - vg.Inch) / vg.Length(len(groups))
	width := slot * 0.8 / vg.Length(len(series))
	for i, s := range series {
		bars, err := plotter.NewBarChart(plotter.Values(s.values), width)
		if err != nil {
			return err
		}
		bars.Color = serverColor(s.name)
		bars.LineStyle.Color = color.White
		bars.LineStyle.Width = vg.Points(0.5)
		bars.Offset = (vg.Length(i) - vg.Length(len(series)-1)/2) * width
		p.Add(bars)
		p.Legend.Add(serverLabel(s.name), bars)
	}
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	return nil
}

// useLogScale puts axis on a log scale over whole decades around the
// positive values. It must follow every Add, which would widen the range to
// the bars' zero base.
func useLogScale(axis *plot.Axis, values []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	axis.Min = math.Pow(10, math.Floor(math.Log10(lo)))
	axis.Max = math.Pow(10, math.Ceil(math.Log10(hi)))
	if axis.Max <= axis.Min {
		axis.Max = axis.Min * 10
	}
	axis.Scale = clampedLogScale{}
	axis.Tick.Marker = decadeTicks{}
}

// clampedLogScale is a log scale that draws values at or below the axis
// minimum on the minimum: a bar's zero base and unmeasured zeros, which
// would make plot.LogScale panic.
type clampedLogScale struct{}

func (clampedLogScale) Normalize(lo, hi, x float64) float64 {
	return plot.LogScale{}.Normalize(lo, hi, max(x, lo))
}

// decadeTicks labels every power of ten, and 2× and 5× too on an axis of at
// most two decades, which would otherwise carry only two or three labels.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	labelled := []int{1}
	if hi/lo <= 100 {
		labelled = []int{1, 2, 5}
	}
	// A hair of slack keeps the top power of ten despite rounding in Pow10.
	top := hi * (1 + 1e-9)
	var ticks []plot.Tick
	for exponent := int(math.Floor(math.Log10(lo))); math.Pow10(exponent) <= top; exponent++ {
		for multiple := 1; multiple <= 9; multiple++ {
			v := float64(multiple) * math.Pow10(exponent)
			if v < lo*(1-1e-9) || v > top {
				continue
			}
			tick := plot.Tick{Value: v}
			if slices.Contains(labelled, multiple) {
				tick.Label = figure(v)
			}
			ticks = append(ticks, tick)
		}
	}
	return ticks
}
