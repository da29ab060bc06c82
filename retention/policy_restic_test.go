package retention

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// loadResticInput reads testdata/restic_input.txt: restic's test snapshots.
func loadResticInput(t *testing.T) []Item {
	t.Helper()
	f, err := os.Open("testdata/restic_input.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var items []Item
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		tm, err := time.Parse("2006-01-02 15:04:05", fields[0]+" "+fields[1])
		if err != nil {
			t.Fatal(err)
		}
		it := Item{ID: fmt.Sprintf("s%03d", len(items)), Time: tm.UTC()}
		if len(fields) > 2 {
			it.Tags = strings.Split(fields[2], ",")
		}
		items = append(items, it)
	}
	if len(items) != 103 {
		t.Fatalf("read %d items, want 103", len(items))
	}
	return items
}

func mustSpan(t *testing.T, s string) Span {
	t.Helper()
	sp, err := ParseSpan(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestResticVectors replays restic's 40 TestApplyPolicy policies on restic's
// input and checks the number of items the rules keep against restic's golden
// files (counts recorded in shared/research/backup.md §3.2). The safety net
// that keeps the newest verified item is left out of the count: restic has
// none.
func TestResticVectors(t *testing.T) {
	items := loadResticInput(t)
	now := time.Date(2016, 2, 1, 0, 0, 0, 0, time.UTC)
	s := func(x string) Span { return mustSpan(t, x) }
	tests := []struct {
		p    Policy
		want int
	}{
		{Policy{}, 0},
		{Policy{Last: 10}, 10},
		{Policy{Last: 15}, 15},
		{Policy{Last: 99}, 99},
		{Policy{Last: 200}, 103},
		{Policy{Hourly: 20}, 20},
		{Policy{Daily: 3}, 3},
		{Policy{Daily: 10}, 10},
		{Policy{Daily: 30}, 30},
		{Policy{Last: 5, Daily: 5}, 6},
		{Policy{Last: 2, Daily: 10}, 10},
		{Policy{Weekly: 2}, 2},
		{Policy{Weekly: 4}, 4},
		{Policy{Daily: 3, Weekly: 4}, 4},
		{Policy{Monthly: 6}, 6},
		{Policy{Daily: 2, Weekly: 2, Monthly: 6}, 7},
		{Policy{Yearly: 10}, 4},
		{Policy{Daily: 7, Weekly: 2, Monthly: 3, Yearly: 10}, 11},
		{Policy{Tags: []string{"foo"}}, 18},
		{Policy{Tags: []string{"foo,bar"}}, 4},
		{Policy{Tags: []string{"foo", "bar"}}, 19},
		{Policy{Within: s("1d")}, 1},
		{Policy{Within: s("2d")}, 1},
		{Policy{Within: s("7d")}, 3},
		{Policy{Within: s("1m")}, 19},
		{Policy{Within: s("1m14d")}, 19},
		{Policy{Within: s("1y1d1m")}, 63},
		{Policy{Within: s("13d23h")}, 9},
		{Policy{Within: s("2m2h")}, 23},
		{Policy{Within: s("1y2m3d3h")}, 68},
		{Policy{WithinHourly: s("1y2m3d3h")}, 57},
		{Policy{WithinDaily: s("1y2m3d3h")}, 53},
		{Policy{WithinWeekly: s("1y2m3d3h")}, 19},
		{Policy{WithinMonthly: s("1y2m3d3h")}, 6},
		{Policy{WithinYearly: s("1y2m3d3h")}, 3},
		{Policy{Within: s("1h"), WithinHourly: s("1d"), WithinDaily: s("7d"), WithinWeekly: s("1m"), WithinMonthly: s("1y"), WithinYearly: s("9999y")}, 10},
		{Policy{Last: -1}, 103},
		{Policy{Last: -1, Hourly: -1}, 103},
		{Policy{Hourly: -1}, 90},
		{Policy{Daily: 3, Weekly: 2, Monthly: -1, Yearly: -1}, 12},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%d/%s", i, tc.p.String()), func(t *testing.T) {
			ds, err := tc.p.Apply(items, now)
			if tc.want == 0 {
				if !errors.Is(err, ErrEmptyPolicy) {
					t.Fatalf("err = %v, want ErrEmptyPolicy", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != len(items) {
				t.Fatalf("%d decisions for %d items", len(ds), len(items))
			}
			kept := 0
			for _, d := range ds {
				if d.Keep && d.Reasons[0] != ReasonNewestVerified {
					kept++
				}
			}
			if kept != tc.want {
				t.Errorf("rules kept %d items, restic keeps %d", kept, tc.want)
				for _, d := range ds {
					if d.Keep {
						t.Logf("  %s %v", d.Time.Format(time.RFC3339Nano), d.Reasons)
					}
				}
			}
		})
	}
}
