package fit

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/rocketfin/rocketfin/scoring"
)

// binned is the training matrix with each feature value replaced by its bin index; the last
// index of a feature (len(edges)+1) is "missing".
type binned struct {
	edges [][]float64
	bins  [][]uint8 // bins[feature][row]
	nbins []int     // bins per feature, missing included
	dirs  []int     // monotone direction per feature
	// worstMissing keeps each feature's missing value at least as risky as its riskiest bin.
	worstMissing bool
}

func binMatrix(x []scoring.FeatureVector, spec []FeatureSpec, maxBins int) *binned {
	nf := len(spec)
	d := &binned{edges: make([][]float64, nf), bins: make([][]uint8, nf), nbins: make([]int, nf), dirs: make([]int, nf)}
	col := make([]float64, len(x))
	for j, fs := range spec {
		d.dirs[j] = fs.Monotone
		for i := range x {
			col[i] = x[i][fs.Feature]
		}
		d.edges[j] = quantileEdges(col, maxBins)
		d.nbins[j] = len(d.edges[j]) + 2
		d.bins[j] = make([]uint8, len(x))
		for i, v := range col {
			if math.IsNaN(v) {
				d.bins[j][i] = uint8(len(d.edges[j]) + 1)
			} else {
				d.bins[j][i] = uint8(scoring.Bin(d.edges[j], v))
			}
		}
	}
	return d
}

// boostBag runs cyclic gradient boosting of single-feature trees (at most cfg.MaxLeaves leaves
// over the ordered bins, plus a leaf for "missing") on one subsample of the rows, and returns the
// summed tree outputs per feature and bin: one shape function per feature.
//
// A feature with a monotone constraint keeps a monotone shape throughout: after each tree its
// shape is projected back onto monotone shapes (isotonic regression weighted by the bag's rows in
// each bin) before the predictions are updated, so the other features can still adapt to it.
func boostBag(d *binned, y, offset []float64, rows []int, cfg Config, base float64) [][]float64 {
	nf := len(d.bins)
	shapes := make([][]float64, nf)
	counts := make([][]float64, nf)
	for j := range shapes {
		shapes[j] = make([]float64, d.nbins[j])
		counts[j] = make([]float64, d.nbins[j])
		for _, i := range rows {
			counts[j][d.bins[j][i]]++
		}
	}
	f := make([]float64, len(rows))
	p := make([]float64, len(rows))
	for k, i := range rows {
		f[k] = base + offset[i]
		p[k] = sigmoid(f[k])
	}
	maxBins := 0
	for _, n := range d.nbins {
		maxBins = max(maxBins, n)
	}
	g := make([]float64, maxBins)
	h := make([]float64, maxBins)
	c := make([]int, maxBins)
	delta := make([]float64, maxBins)
	for r := 0; r < cfg.Rounds; r++ {
		for j := 0; j < nf; j++ {
			nb := d.nbins[j]
			clear(g[:nb])
			clear(h[:nb])
			clear(c[:nb])
			col := d.bins[j]
			for k, i := range rows {
				b := col[i]
				g[b] += p[k] - y[i]
				h[b] += p[k] * (1 - p[k])
				c[b]++
			}
			treeDeltas(g[:nb], h[:nb], c[:nb], cfg, delta[:nb])
			if dir := d.dirs[j]; dir != 0 {
				next := make([]float64, nb-1)
				for b := range next {
					next[b] = shapes[j][b] + delta[b]
				}
				for b, v := range pav(next, counts[j][:nb-1], dir) {
					delta[b] = v - shapes[j][b]
				}
			}
			if d.worstMissing {
				worst := math.Inf(-1)
				for b := 0; b < nb-1; b++ {
					worst = math.Max(worst, shapes[j][b]+delta[b])
				}
				if m := shapes[j][nb-1] + delta[nb-1]; m < worst {
					delta[nb-1] = worst - shapes[j][nb-1]
				}
			}
			for b := 0; b < nb; b++ {
				shapes[j][b] += delta[b]
			}
			for k, i := range rows {
				if dv := delta[col[i]]; dv != 0 {
					f[k] += dv
					p[k] = sigmoid(f[k])
				}
			}
		}
	}
	return shapes
}

// treeDeltas fits one small tree on a feature's ordered bins (the last bin, "missing", is always
// its own leaf) and writes each bin's Newton step times the learning rate into out.
func treeDeltas(g, h []float64, c []int, cfg Config, out []float64) {
	nb := len(g) - 1 // ordered bins; g[nb] is missing
	type seg struct{ lo, hi int }
	segs := []seg{{0, nb}}
	for len(segs) < cfg.MaxLeaves {
		best, bestAt, bestGain := -1, 0, 0.0
		for si, s := range segs {
			at, gain := bestSplit(g, h, c, s.lo, s.hi, cfg)
			if gain > bestGain {
				best, bestAt, bestGain = si, at, gain
			}
		}
		if best < 0 {
			break
		}
		s := segs[best]
		segs = append(segs[:best], append([]seg{{s.lo, bestAt}, {bestAt, s.hi}}, segs[best+1:]...)...)
	}
	for _, s := range segs {
		var gs, hs float64
		for b := s.lo; b < s.hi; b++ {
			gs += g[b]
			hs += h[b]
		}
		v := -cfg.LearningRate * gs / (hs + cfg.Lambda)
		for b := s.lo; b < s.hi; b++ {
			out[b] = v
		}
	}
	out[nb] = -cfg.LearningRate * g[nb] / (h[nb] + cfg.Lambda)
}

// bestSplit finds the cut of bins [lo, hi) into [lo, at) and [at, hi) with the largest gain in
// the regularised Newton objective, each side holding at least cfg.MinLeafRows rows.
func bestSplit(g, h []float64, c []int, lo, hi int, cfg Config) (int, float64) {
	var gt, ht float64
	ct := 0
	for b := lo; b < hi; b++ {
		gt += g[b]
		ht += h[b]
		ct += c[b]
	}
	parent := gt * gt / (ht + cfg.Lambda)
	var gl, hl float64
	cl := 0
	bestAt, bestGain := 0, 0.0
	for at := lo + 1; at < hi; at++ {
		gl += g[at-1]
		hl += h[at-1]
		cl += c[at-1]
		if cl < cfg.MinLeafRows || ct-cl < cfg.MinLeafRows {
			continue
		}
		gr, hr := gt-gl, ht-hl
		gain := gl*gl/(hl+cfg.Lambda) + gr*gr/(hr+cfg.Lambda) - parent
		if gain > bestGain {
			bestAt, bestGain = at, gain
		}
	}
	return bestAt, bestGain
}

// bagRows draws a stratified subsample without replacement: the same share of defaults and
// non-defaults, from a generator seeded per bag.
func bagRows(y []float64, rows []int, share float64, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var pos, neg []int
	for _, i := range rows {
		if y[i] == 1 {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	pick := func(v []int) []int {
		rng.Shuffle(len(v), func(a, b int) { v[a], v[b] = v[b], v[a] })
		return v[:int(math.Round(share*float64(len(v))))]
	}
	out := append(pick(pos), pick(neg)...)
	slices.Sort(out)
	return out
}

// boostBags runs every bag, in parallel, and averages their shapes in bag order so that the
// result does not depend on scheduling.
func boostBags(d *binned, y, offset []float64, rows []int, cfg Config, base float64) [][]float64 {
	res := make([][][]float64, cfg.Bags)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, cfg.Workers))
	for b := 0; b < cfg.Bags; b++ {
		wg.Add(1)
		go func(b int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sub := bagRows(y, rows, cfg.Subsample, cfg.Seed+uint64(b))
			res[b] = boostBag(d, y, offset, sub, cfg, base)
		}(b)
	}
	wg.Wait()
	avg := make([][]float64, len(res[0]))
	for j := range avg {
		avg[j] = make([]float64, len(res[0][j]))
		for b := range res {
			for k, v := range res[b][j] {
				avg[j][k] += v
			}
		}
		for k := range avg[j] {
			avg[j][k] /= float64(len(res))
		}
	}
	return avg
}
