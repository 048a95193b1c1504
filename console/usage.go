package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scoring"
)

// bar is one bar of the usage chart, in SVG units.
type bar struct {
	X, Y, W, H int
	Class, Tip string
}

// chart is the month's analyses per day by environment, drawn on the server as SVG.
type chart struct {
	Width, Height, Base int
	Bars                []bar
	Labels              []axisLabel
	Max                 int64
}

type axisLabel struct {
	X    int
	Text string
}

type usageDay struct {
	Date          string
	Sandbox, Live int64
}

type usageData struct {
	Period                  string
	Days                    []usageDay
	Chart                   chart
	SandboxTotal, LiveTotal int64
	LiveAmount              string
	Cap, CapLeft            string
	CapMax, CapUsed         int64
	Export, Environment     string
}

const (
	chartHeight = 180
	chartDayW   = 22
)

// drawUsage lays out one pair of bars per day (sandbox, live), scaled to the busiest day.
func drawUsage(days []usageDay) chart {
	c := chart{Width: len(days)*chartDayW + 40, Height: chartHeight + 30, Base: chartHeight}
	for _, d := range days {
		c.Max = max(c.Max, d.Sandbox, d.Live)
	}
	scale := func(n int64) int {
		if c.Max == 0 {
			return 0
		}
		return int(n * (chartHeight - 10) / c.Max)
	}
	for i, d := range days {
		x := 30 + i*chartDayW
		for j, s := range []struct {
			n     int64
			class string
		}{{d.Sandbox, "sandbox"}, {d.Live, "live"}} {
			h := scale(s.n)
			c.Bars = append(c.Bars, bar{X: x + j*9, Y: chartHeight - h, W: 8, H: h, Class: s.class,
				Tip: d.Date + ": " + strconv.FormatInt(s.n, 10) + " " + s.class})
		}
		if i%7 == 0 || i == len(days)-1 {
			c.Labels = append(c.Labels, axisLabel{X: x, Text: d.Date[8:]})
		}
	}
	return c
}

func (cs *Console) handleUsage(c *gin.Context) {
	v := viewerOf(c)
	ctx := c.Request.Context()
	now := cs.Clock.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, -1) // the whole month, days to come empty
	period := money.PeriodOf(now)
	d := usageData{Period: period, Export: "/v1/usage/export?period=" + period, Environment: string(v.Environment)}
	byDay := map[string]*usageDay{}
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		d.Days = append(d.Days, usageDay{Date: day.Format(time.DateOnly)})
	}
	for i := range d.Days {
		byDay[d.Days[i].Date] = &d.Days[i]
	}
	var liveAmount int64
	currency := ""
	for _, env := range []keys.Environment{keys.Sandbox, keys.Live} {
		p := v.Principal
		p.Environment = env
		sum, err := cs.Meter.Summarize(ctx, p, from, to)
		if err != nil {
			cs.fail(c, "error", page{Title: "Usage"}, err)
			return
		}
		currency = sum.Currency
		for _, r := range sum.Data {
			day := byDay[r.Date]
			if day == nil || r.Metric != metering.MetricAnalysis {
				continue
			}
			if env == keys.Live {
				day.Live += r.Quantity
				d.LiveTotal += r.Quantity
			} else {
				day.Sandbox += r.Quantity
				d.SandboxTotal += r.Quantity
			}
		}
		if env == keys.Live {
			liveAmount = sum.Amount
		}
	}
	d.LiveAmount = formatMoney(scoring.Money{Amount: liveAmount, Currency: currency})
	t, err := cs.Tenants.Get(ctx, v.TenantID)
	if err != nil {
		cs.fail(c, "error", page{Title: "Usage"}, err)
		return
	}
	if t.MonthlyCapAmount != nil {
		capCur := currency
		if t.MonthlyCapCurrency != nil {
			capCur = *t.MonthlyCapCurrency
		}
		d.Cap = formatMoney(scoring.Money{Amount: *t.MonthlyCapAmount, Currency: capCur})
		d.CapMax, d.CapUsed = *t.MonthlyCapAmount, min(liveAmount, *t.MonthlyCapAmount)
		d.CapLeft = formatMoney(scoring.Money{Amount: max(0, *t.MonthlyCapAmount-liveAmount), Currency: capCur})
	}
	d.Chart = drawUsage(d.Days)
	cs.render(c, http.StatusOK, "usage", page{Title: "Usage", Active: "usage", Data: d})
}
