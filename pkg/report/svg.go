package report

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bar chart geometry, in SVG user units (the chart scales to its box).
const (
	barChartWidth = 600
	barLabelWidth = 232 // fits the longest check ID at the chart's font size
	barValueWidth = 96
	barRowHeight  = 24
	barHeight     = 16
	barPad        = 4
	// barLabelRunes truncates labels so they stay inside barLabelWidth; the
	// full label is in the bar's <title>.
	barLabelRunes = 32
)

// barDatum is one bar before layout.
type barDatum struct {
	Label   string
	Value   float64
	Tooltip string // the bar's <title>: the full label and the numbers
}

// barChart is a horizontal bar chart laid out for drawing: the bars are
// drawn in the order given.
type barChart struct {
	Label         string // the chart's accessible name
	Width, Height int
	Bars          []bar
}

// bar is one laid-out bar; coordinates are formatted numbers.
type bar struct {
	Label, Tooltip, Value     string
	LabelX, TextY, BarX, BarY string
	BarW, BarH, ValueX        string
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// layoutBars lays out one horizontal bar per datum, the longest bar filling
// the space between the labels and the value column.
func layoutBars(label string, data []barDatum) barChart {
	c := barChart{Label: label, Width: barChartWidth, Height: 2*barPad + len(data)*barRowHeight}
	max := 0.0
	for _, d := range data {
		max = math.Max(max, d.Value)
	}
	span := float64(barChartWidth - barLabelWidth - barValueWidth)
	for i, d := range data {
		w := 0.0
		if max > 0 && d.Value > 0 {
			w = math.Max(1, d.Value/max*span) // a tiny cost still shows
		}
		top := float64(barPad + i*barRowHeight)
		c.Bars = append(c.Bars, bar{
			Label:   truncate(d.Label, barLabelRunes),
			Tooltip: d.Tooltip,
			Value:   money(d.Value),
			LabelX:  num(barLabelWidth - 8),
			TextY:   num(top + barRowHeight/2),
			BarX:    num(barLabelWidth),
			BarY:    num(top + (barRowHeight-barHeight)/2),
			BarW:    num(w),
			BarH:    num(barHeight),
			ValueX:  num(barLabelWidth + w + 6),
		})
	}
	return c
}

// write draws the chart as inline SVG; each bar's <title> is its tooltip.
func (c barChart) write(m *markup) {
	m.printf("\n"+`<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		c.Width, c.Height, c.Width, c.Height, c.Label)
	for _, b := range c.Bars {
		m.printf("\n"+`<g><title>%s</title>`+
			`<text class="lbl" x="%s" y="%s" dy=".35em" text-anchor="end">%s</text>`+
			`<rect class="bar" x="%s" y="%s" width="%s" height="%s" rx="2"></rect>`+
			`<text class="val" x="%s" y="%s" dy=".35em">%s</text></g>`,
			b.Tooltip, b.LabelX, b.TextY, b.Label, b.BarX, b.BarY, b.BarW, b.BarH, b.ValueX, b.TextY, b.Value)
	}
	m.raw("\n</svg>")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Trend chart geometry.
const (
	trendWidth  = 1190
	trendHeight = 260
	trendLeft   = 80 // y-axis labels
	trendRight  = 110
	trendTop    = 16
	trendBottom = 32 // x-axis labels
	// trendLabelRuneWidth over-estimates a character's width at the axis
	// font size, and trendLabelGap is the least space between two dates,
	// so that dates under the axis never overlap.
	trendLabelRuneWidth = 7.2
	trendLabelGap       = 16
)

// trendPoint is one run before layout.
type trendPoint struct {
	At      time.Time
	Value   float64
	Tooltip string
}

// trendChart is a step chart of the open monthly cost across runs: the cost
// holds from one run until the next changes it, which is what a step says.
type trendChart struct {
	Label         string
	Width, Height int
	Path          string // the step line
	Area          string // the same line closed down to the axis, filled
	Grid          []tick
	XLabels       []xLabel
	Points        []point
	Last          point // the newest run, labelled with its value
	// Left and Right bound the plot; AxisLabelX, XLabelY and LastLabelX
	// place the axis labels and the newest run's value.
	Left, Right, AxisLabelX, XLabelY, LastLabelX string
}

type tick struct{ Y, Label string }

type xLabel struct{ X, Label, Anchor string }

type point struct{ X, Y, Tooltip, Value string }

// layoutTrend lays out the points (oldest first) on a time axis; runs that
// share a start time, or a single run, are spread evenly instead.
func layoutTrend(label string, pts []trendPoint) trendChart {
	left, right := float64(trendLeft), float64(trendWidth-trendRight)
	top, bottom := float64(trendTop), float64(trendHeight-trendBottom)
	c := trendChart{Label: label, Width: trendWidth, Height: trendHeight,
		Left: num(left), Right: num(right), AxisLabelX: num(left - 8), XLabelY: num(trendHeight - 10)}
	if len(pts) == 0 {
		return c
	}
	max := 0.0
	for _, p := range pts {
		max = math.Max(max, p.Value)
	}
	step, yMax := niceScale(max)
	y := func(v float64) float64 { return bottom - v/yMax*(bottom-top) }
	for v := 0.0; v <= yMax+step/2; v += step {
		c.Grid = append(c.Grid, tick{Y: num(y(v)), Label: axisMoney(v, step)})
	}
	first, last := pts[0].At, pts[len(pts)-1].At
	// Runs minutes apart (a re-run, a test) need seconds to tell apart.
	layout := "Jan 2 15:04"
	if last.Sub(first) < time.Hour {
		layout = "Jan 2 15:04:05"
	}
	timed := last.After(first)
	for i := 1; i < len(pts) && timed; i++ {
		timed = pts[i].At.After(pts[i-1].At)
	}
	x := func(i int) float64 {
		switch {
		case len(pts) == 1:
			return (left + right) / 2
		case timed:
			return left + float64(pts[i].At.Sub(first))/float64(last.Sub(first))*(right-left)
		default:
			return left + float64(i)/float64(len(pts)-1)*(right-left)
		}
	}
	var path strings.Builder
	for i, p := range pts {
		px, py := x(i), y(p.Value)
		if i == 0 {
			path.WriteString("M" + num(px) + "," + num(py))
		} else {
			path.WriteString("H" + num(px) + "V" + num(py))
		}
		c.Points = append(c.Points, point{X: num(px), Y: num(py), Tooltip: p.Tooltip, Value: money(p.Value)})
	}
	c.Path = path.String()
	c.XLabels = xLabels(pts, x, layout)
	if len(pts) > 1 { // a lone run is a point, not a line
		c.Area = c.Path + "V" + num(bottom) + "H" + num(x(0)) + "Z"
	} else {
		c.Path = ""
	}
	c.Last = c.Points[len(c.Points)-1]
	c.LastLabelX = num(x(len(pts)-1) + 10)
	return c
}

// write draws the chart as inline SVG: the grid and its labels, the step
// line over its filled area, a point per run whose <title> is its tooltip,
// the newest run's value and the dates under the axis. A chart of no run
// draws nothing.
func (c trendChart) write(m *markup) {
	if len(c.Points) == 0 {
		return
	}
	m.printf("\n"+`<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		c.Width, c.Height, c.Width, c.Height, c.Label)
	for _, t := range c.Grid {
		m.printf("\n"+`<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"></line>`+
			`<text class="axis" x="%s" y="%s" dy=".35em" text-anchor="end">%s</text>`,
			c.Left, c.Right, t.Y, t.Y, c.AxisLabelX, t.Y, t.Label)
	}
	if c.Path != "" {
		m.printf("\n"+`<path class="area" d="%s"></path>`+"\n"+`<path class="line" d="%s"></path>`, c.Area, c.Path)
	}
	for _, p := range c.Points {
		m.printf("\n"+`<circle class="pt" cx="%s" cy="%s" r="4"><title>%s</title></circle>`, p.X, p.Y, p.Tooltip)
	}
	m.printf("\n"+`<text class="last" x="%s" y="%s" dy=".35em">%s</text>`, c.LastLabelX, c.Last.Y, c.Last.Value)
	for _, l := range c.XLabels {
		m.printf("\n"+`<text class="axis" x="%s" y="%s" text-anchor="%s">%s</text>`, l.X, c.XLabelY, l.Anchor, l.Label)
	}
	m.raw("\n</svg>")
}

// xLabels dates the runs under the axis: the newest, then the oldest, then
// the others from the newest back, each only where it overlaps no date
// already placed.
func xLabels(pts []trendPoint, x func(int) float64, layout string) []xLabel {
	type span struct{ from, to float64 }
	var placed []span
	byRun := map[int]xLabel{}
	order := []int{len(pts) - 1}
	if len(pts) > 1 {
		order = append(order, 0)
	}
	for i := len(pts) - 2; i > 0; i-- {
		order = append(order, i)
	}
	for _, i := range order {
		label := pts[i].At.UTC().Format(layout)
		w := trendLabelRuneWidth * float64(utf8.RuneCountInString(label))
		px, anchor := x(i), "middle"
		s := span{px - w/2, px + w/2}
		switch {
		case len(pts) > 1 && i == 0:
			anchor, s = "start", span{px, px + w}
		case len(pts) > 1 && i == len(pts)-1:
			anchor, s = "end", span{px - w, px}
		}
		free := true
		for _, p := range placed {
			if s.from < p.to+trendLabelGap && p.from < s.to+trendLabelGap {
				free = false
				break
			}
		}
		if free {
			placed = append(placed, s)
			byRun[i] = xLabel{X: num(px), Label: label, Anchor: anchor}
		}
	}
	var out []xLabel
	for i := range pts {
		if l, ok := byRun[i]; ok {
			out = append(out, l)
		}
	}
	return out
}

// niceScale returns a round tick step and the axis maximum (a multiple of
// it, at least max) for about four ticks.
func niceScale(max float64) (step, top float64) {
	if max <= 0 {
		return 1, 4
	}
	raw := max / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		step = mag
	case f <= 2:
		step = 2 * mag
	case f <= 2.5:
		step = 2.5 * mag
	case f <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	return step, math.Ceil(max/step-1e-9) * step
}

// axisMoney formats an axis value with as many decimals as the step needs.
func axisMoney(v, step float64) string {
	decimals := 0
	for s := step; s < 1 && decimals < 4; s *= 10 {
		decimals++
	}
	if step >= 1 && step != math.Trunc(step) {
		decimals = 1
	}
	if decimals == 0 {
		return "$" + group(strconv.FormatFloat(v, 'f', 0, 64))
	}
	return "$" + strconv.FormatFloat(v, 'f', decimals, 64)
}
