package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"
)

// plotSoak draws RSS, live heap and heap in use (MiB) against fills processed into a PNG. It
// uses only the standard library and a built-in 3×5 pixel font, so the soak adds no dependency.
func plotSoak(path string, samples []sample, bound uint64) error {
	const (
		w, h                     = 960, 540
		left, right, top, bottom = 90, 30, 50, 70
	)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})

	series := []struct {
		name string
		col  color.RGBA
		f    func(sample) uint64
	}{
		{"RSS", color.RGBA{200, 30, 30, 255}, func(x sample) uint64 { return x.rss }},
		{"RSS ANON", color.RGBA{230, 140, 20, 255}, func(x sample) uint64 { return x.rssAnon }},
		{"RSS FILE (MAPPED STORE AND CODE)", color.RGBA{140, 40, 160, 255}, func(x sample) uint64 { return x.rssFile }},
		{"STORE FILE", color.RGBA{90, 150, 60, 255}, func(x sample) uint64 { return x.storeBytes }},
		{"HEAP IN USE", color.RGBA{120, 160, 230, 255}, func(x sample) uint64 { return x.heapInuse }},
		{"LIVE HEAP AFTER GC", color.RGBA{20, 60, 170, 255}, func(x sample) uint64 { return x.liveHeap }},
	}
	maxX := float64(samples[len(samples)-1].fills)
	maxY := mib(bound) * 1.1
	for _, s := range series {
		maxY = max(maxY, mib(maxOf(samples, s.f)))
	}
	yStep := niceStep(maxY / 6)
	maxY = math.Ceil(maxY/yStep) * yStep
	xUnit, xName := 1e6, "FILLS PROCESSED (MILLIONS)"
	if maxX < 2e6 {
		xUnit, xName = 1e3, "FILLS PROCESSED (THOUSANDS)"
	}
	xStep := niceStep(maxX / xUnit / 8)

	px := func(x float64) int { return left + int(x/maxX*float64(w-left-right)) }
	py := func(y float64) int { return h - bottom - int(y/maxY*float64(h-top-bottom)) }
	grid, axis := color.RGBA{225, 225, 225, 255}, color.RGBA{60, 60, 60, 255}

	for y := 0.0; y <= maxY+yStep/2; y += yStep {
		line(img, left, py(y), w-right, py(y), grid)
		label := trimFloat(y)
		text(img, left-8-textWidth(label, 2), py(y)-5, label, 2, axis)
	}
	for x := 0.0; x*xUnit <= maxX*1.0001; x += xStep {
		line(img, px(x*xUnit), top, px(x*xUnit), h-bottom, grid)
		label := trimFloat(x)
		text(img, px(x*xUnit)-textWidth(label, 2)/2, h-bottom+8, label, 2, axis)
	}
	line(img, left, top, left, h-bottom, axis)
	line(img, left, h-bottom, w-right, h-bottom, axis)
	text(img, (w-textWidth(xName, 2))/2, h-bottom+32, xName, 2, axis)
	text(img, 8, top-30, "MIB", 2, axis)
	title := "POLYBOT SOAK: MEMORY AGAINST FILLS PROCESSED"
	text(img, (w-textWidth(title, 3))/2, 10, title, 3, axis)

	if bound > 0 {
		red := color.RGBA{200, 30, 30, 255}
		for x := left; x < w-right; x += 12 {
			line(img, x, py(mib(bound)), min(x+6, w-right), py(mib(bound)), red)
		}
		label := "RSS BOUND " + trimFloat(mib(bound)) + " MIB"
		text(img, w-right-textWidth(label, 2)-4, py(mib(bound))-16, label, 2, red)
	}
	for i, s := range series {
		for j := 1; j < len(samples); j++ {
			a, b := samples[j-1], samples[j]
			if s.f(a) == 0 || s.f(b) == 0 {
				continue
			}
			thick(img, px(float64(a.fills)), py(mib(s.f(a))), px(float64(b.fills)), py(mib(s.f(b))), s.col)
		}
		lx, ly := left+20, top+10+i*18
		fill(img, image.Rect(lx, ly, lx+24, ly+10), s.col)
		text(img, lx+32, ly, s.name, 2, axis)
	}

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws a one-pixel line (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func thick(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
		line(img, x0+d[0], y0+d[1], x1+d[0], y1+d[1], c)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func textWidth(s string, scale int) int { return len(s) * 4 * scale }

// text draws s in the 3×5 font, each font pixel scale×scale, top-left at (x, y).
func text(img *image.RGBA, x, y int, s string, scale int, c color.RGBA) {
	for i, r := range s {
		g, ok := font[r]
		if !ok {
			continue
		}
		for row := range 5 {
			for col := range 3 {
				if g[row][col] == '#' {
					fill(img, image.Rect(x+i*4*scale+col*scale, y+row*scale, x+i*4*scale+(col+1)*scale, y+(row+1)*scale), c)
				}
			}
		}
	}
}

// font is a 3×5 pixel font: each glyph is five rows of three pixels.
var font = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"},
	'1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"},
	'3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"},
	'5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"},
	'7': {"###", "..#", "..#", "..#", "..#"},
	'8': {"###", "#.#", "###", "#.#", "###"},
	'9': {"###", "#.#", "###", "..#", "###"},
	'.': {"...", "...", "...", "...", ".#."},
	'-': {"...", "...", "###", "...", "..."},
	'(': {".#.", "#..", "#..", "#..", ".#."},
	')': {".#.", "..#", "..#", "..#", ".#."},
	':': {"...", ".#.", "...", ".#.", "..."},
	' ': {"...", "...", "...", "...", "..."},
	'A': {".#.", "#.#", "###", "#.#", "#.#"},
	'B': {"##.", "#.#", "##.", "#.#", "##."},
	'C': {"###", "#..", "#..", "#..", "###"},
	'D': {"##.", "#.#", "#.#", "#.#", "##."},
	'E': {"###", "#..", "###", "#..", "###"},
	'F': {"###", "#..", "###", "#..", "#.."},
	'G': {"###", "#..", "#.#", "#.#", "###"},
	'H': {"#.#", "#.#", "###", "#.#", "#.#"},
	'I': {"###", ".#.", ".#.", ".#.", "###"},
	'K': {"#.#", "#.#", "##.", "#.#", "#.#"},
	'L': {"#..", "#..", "#..", "#..", "###"},
	'M': {"#.#", "###", "###", "#.#", "#.#"},
	'N': {"##.", "#.#", "#.#", "#.#", "#.#"},
	'O': {"###", "#.#", "#.#", "#.#", "###"},
	'P': {"###", "#.#", "###", "#..", "#.."},
	'R': {"##.", "#.#", "##.", "#.#", "#.#"},
	'S': {"###", "#..", "###", "..#", "###"},
	'T': {"###", ".#.", ".#.", ".#.", ".#."},
	'U': {"#.#", "#.#", "#.#", "#.#", "###"},
	'V': {"#.#", "#.#", "#.#", "#.#", ".#."},
	'W': {"#.#", "#.#", "###", "###", "#.#"},
	'X': {"#.#", "#.#", ".#.", "#.#", "#.#"},
	'Y': {"#.#", "#.#", ".#.", ".#.", ".#."},
}
