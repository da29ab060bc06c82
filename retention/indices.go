package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-multierror"
)

// IndexClass is one family of time-based Elasticsearch indices and how long
// they are kept.
//
// Patterns are index expressions ("logs-nginx-*", "filebeat-*"); a pattern
// that names data streams reaches their backing indices. An index's time is:
//
//   - for a data stream's backing index, when it was rolled over (the creation
//     date of the next backing index), as Elasticsearch's ILM measures age;
//   - else the date in its name when DateLayout is set and the name has one
//     ("logs-nginx-2026.11.22", "app-2026-11-22");
//   - else its creation date.
//
// An index is deleted once its time is more than MaxAge before now. Never
// deleted: a data stream's write index (and failure-store write index), the
// write index of an alias (explicit is_write_index, or the only index of an
// alias that does not say otherwise), and dot-prefixed system or hidden
// indices that are not backing indices.
type IndexClass struct {
	// Name labels the class in reports and logs.
	Name string
	// Patterns are index expressions, one per entry (no commas); "*" and
	// "_all" are refused.
	Patterns []string
	// MaxAge is how long an index is kept; it must be positive.
	MaxAge time.Duration
	// DateLayout is a Go time layout of the date in index names, with a
	// four-digit year, made of digits and punctuation ("2006.01.02",
	// "2006-01-02"); empty means creation dates only.
	DateLayout string
	// DatePattern optionally locates the date: a regular expression whose
	// first group (or whole match) is parsed with DateLayout.
	DatePattern string
	// Location is the zone of name dates; nil means UTC.
	Location *time.Location
}

// IndexDecision is what an IndexPruner decided about one index.
type IndexDecision struct {
	Class string
	Index string
	// DataStream is the data stream the index backs, if any.
	DataStream string
	// Time is the index's time ("name date", "creation date" or "rolled
	// over", see Source); Age is now minus Time.
	Time   time.Time
	Source string
	Age    time.Duration
	// Delete says the index is past its age and may go; Deleted that it was
	// deleted (false in a dry run and on error).
	Delete, Deleted bool
	// Reason explains the decision ("age 9w > 8w (name date)", "write index
	// of data stream logs-app").
	Reason string
	// Err is the error deleting the index, if any.
	Err error
}

// IndexReport lists every decision of one IndexPruner run, sorted by index
// name.
type IndexReport struct {
	DryRun    bool
	Decisions []IndexDecision
}

// Deleted returns the indices deleted (or, in a dry run, to be deleted).
func (r *IndexReport) Deleted() []string {
	var out []string
	for _, d := range r.Decisions {
		if d.Deleted || (r.DryRun && d.Delete) {
			out = append(out, d.Index)
		}
	}
	return out
}

// IndexPruner deletes Elasticsearch indices past their age. Client is usually
// an *elasticsearch.Client from github.com/elastic/go-elasticsearch/v8; any
// esapi.Transport does.
type IndexPruner struct {
	Client  esapi.Transport
	Classes []IndexClass
	// BatchSize is how many indices one delete request names; 0 means 20.
	// A failed batch is retried index by index, so one bad index does not
	// keep the others.
	BatchSize int
	// Logger receives one line per deleted index and per error; nil means
	// slog.Default().
	Logger *slog.Logger
}

// ErrElasticsearch wraps an error answer from Elasticsearch.
var ErrElasticsearch = errors.New("retention: elasticsearch")

const expandAll = "open,closed,hidden"

// Prune decides about every index of every class and, unless dryRun, deletes
// those past their age. Listing errors stop the run before anything is
// deleted; deletion errors do not stop the others and are returned together
// (a *multierror.Error). When two classes reach the same index, it is deleted
// only if every one of them says so.
func (p *IndexPruner) Prune(ctx context.Context, now time.Time, dryRun bool) (*IndexReport, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	if p.Client == nil {
		return nil, fmt.Errorf("%w: IndexPruner has no Client", ErrInvalidClass)
	}
	byIndex := map[string]*IndexDecision{}
	for _, c := range p.Classes {
		ds, err := p.plan(ctx, c, now)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			prev, ok := byIndex[d.Index]
			switch {
			case !ok:
				byIndex[d.Index] = &d
			case prev.Delete && !d.Delete:
				d.Reason += "; kept although class " + prev.Class + " would delete it"
				byIndex[d.Index] = &d
			case !prev.Delete && d.Delete:
				prev.Reason += "; kept although class " + d.Class + " would delete it"
			}
		}
	}
	rep := &IndexReport{DryRun: dryRun}
	for _, d := range byIndex {
		rep.Decisions = append(rep.Decisions, *d)
	}
	slices.SortFunc(rep.Decisions, func(a, b IndexDecision) int { return strings.Compare(a.Index, b.Index) })
	if dryRun {
		return rep, nil
	}
	var doomed []int
	for i, d := range rep.Decisions {
		if d.Delete {
			doomed = append(doomed, i)
		}
	}
	batch := p.BatchSize
	if batch <= 0 {
		batch = 20
	}
	var errs *multierror.Error
	for start := 0; start < len(doomed); start += batch {
		if err := ctx.Err(); err != nil {
			errs = multierror.Append(errs, err)
			break
		}
		idx := doomed[start:min(start+batch, len(doomed))]
		names := make([]string, len(idx))
		for k, i := range idx {
			names[k] = rep.Decisions[i].Index
		}
		err := p.delete(ctx, names)
		if err == nil {
			for _, i := range idx {
				rep.Decisions[i].Deleted = true
				log.Info("retention: deleted index", "class", rep.Decisions[i].Class, "index", rep.Decisions[i].Index, "reason", rep.Decisions[i].Reason)
			}
			continue
		}
		if len(idx) > 1 {
			// Find out which index failed: one at a time.
			for _, i := range idx {
				d := &rep.Decisions[i]
				if err := p.delete(ctx, []string{d.Index}); err != nil {
					d.Err = err
					errs = multierror.Append(errs, err)
					log.Warn("retention: cannot delete index", "class", d.Class, "index", d.Index, "err", err)
				} else {
					d.Deleted = true
					log.Info("retention: deleted index", "class", d.Class, "index", d.Index, "reason", d.Reason)
				}
			}
			continue
		}
		d := &rep.Decisions[idx[0]]
		d.Err = err
		errs = multierror.Append(errs, err)
		log.Warn("retention: cannot delete index", "class", d.Class, "index", d.Index, "err", err)
	}
	return rep, errs.ErrorOrNil()
}

func validPattern(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return errors.New("empty pattern")
	case p == "*" || p == "_all" || strings.Trim(p, "*") == "":
		return fmt.Errorf("pattern %q would reach every index", p)
	case strings.ContainsAny(p, ", /\\\"<>|?#"):
		return fmt.Errorf("pattern %q: one index expression per entry, without , / \\ \" < > | ? # or spaces", p)
	case strings.HasPrefix(p, "-") || strings.HasPrefix(p, "+"):
		return fmt.Errorf("pattern %q: exclusions are not supported", p)
	}
	return nil
}

type resolveResponse struct {
	Indices []struct {
		Name       string   `json:"name"`
		Aliases    []string `json:"aliases"`
		Attributes []string `json:"attributes"`
		DataStream string   `json:"data_stream"`
	} `json:"indices"`
	DataStreams []struct {
		Name           string   `json:"name"`
		BackingIndices []string `json:"backing_indices"`
		FailureIndices []string `json:"failure_indices"`
	} `json:"data_streams"`
}

type dataStreamResponse struct {
	DataStreams []struct {
		Name    string `json:"name"`
		Indices []struct {
			IndexName string `json:"index_name"`
		} `json:"indices"`
		FailureStore *struct {
			Indices []struct {
				IndexName string `json:"index_name"`
			} `json:"indices"`
		} `json:"failure_store"`
	} `json:"data_streams"`
}

type settingsResponse map[string]struct {
	Settings struct {
		Index struct {
			CreationDate string `json:"creation_date"`
		} `json:"index"`
	} `json:"settings"`
}

type aliasResponse map[string]struct {
	Aliases map[string]struct {
		IsWriteIndex *bool `json:"is_write_index"`
	} `json:"aliases"`
}

// clusterView is what one class's listing requests returned.
type clusterView struct {
	resolve     resolveResponse
	dataStreams dataStreamResponse
	settings    settingsResponse
	aliases     aliasResponse
}

// plan lists the indices of one class and decides about each.
func (p *IndexPruner) plan(ctx context.Context, c IndexClass, now time.Time) ([]IndexDecision, error) {
	if len(c.Patterns) == 0 {
		return nil, fmt.Errorf("%w: index class %q has no pattern", ErrInvalidClass, c.Name)
	}
	for _, pat := range c.Patterns {
		if err := validPattern(pat); err != nil {
			return nil, fmt.Errorf("%w: index class %q: %v", ErrInvalidClass, c.Name, err)
		}
	}
	if c.MaxAge <= 0 {
		return nil, fmt.Errorf("%w: index class %q: max age %v is not positive", ErrInvalidClass, c.Name, c.MaxAge)
	}
	nd, err := newNameDate(c.DateLayout, c.DatePattern, c.Location)
	if err != nil {
		return nil, fmt.Errorf("%w: index class %q: %v", ErrInvalidClass, c.Name, err)
	}
	t, f := true, false
	var v clusterView
	if err := p.call(ctx, "resolve index", esapi.IndicesResolveIndexRequest{
		Name: c.Patterns, ExpandWildcards: expandAll, IgnoreUnavailable: &t, AllowNoIndices: &t,
	}, &v.resolve); err != nil {
		return nil, err
	}
	if len(v.resolve.Indices) == 0 && len(v.resolve.DataStreams) == 0 {
		return nil, nil
	}
	var streams []string
	for _, ds := range v.resolve.DataStreams {
		streams = append(streams, ds.Name)
	}
	if len(streams) > 0 {
		// The data stream API is the authority on the write index.
		if err := p.call(ctx, "get data stream", esapi.IndicesGetDataStreamRequest{
			Name: streams, ExpandWildcards: expandAll,
		}, &v.dataStreams); err != nil {
			return nil, err
		}
	}
	if err := p.call(ctx, "get settings", esapi.IndicesGetSettingsRequest{
		Index: c.Patterns, Name: []string{"index.creation_date"}, ExpandWildcards: expandAll,
		AllowNoIndices: &t, IgnoreUnavailable: &t, FlatSettings: &f,
	}, &v.settings); err != nil {
		return nil, err
	}
	aliasSet := map[string]bool{}
	for _, ix := range v.resolve.Indices {
		for _, a := range ix.Aliases {
			aliasSet[a] = true
		}
	}
	if len(aliasSet) > 0 {
		names := make([]string, 0, len(aliasSet))
		for a := range aliasSet {
			names = append(names, a)
		}
		slices.Sort(names)
		if err := p.call(ctx, "get alias", esapi.IndicesGetAliasRequest{
			Name: names, ExpandWildcards: expandAll,
		}, &v.aliases); err != nil {
			return nil, err
		}
	}
	return v.decide(c, nd, now), nil
}

// decide turns the listing into one decision per candidate index.
func (v *clusterView) decide(c IndexClass, nd *nameDate, now time.Time) []IndexDecision {
	type cand struct {
		dataStream string
		protected  string // why it must stay, if it must
	}
	cands := map[string]*cand{}
	for _, ix := range v.resolve.Indices {
		if ix.Name == "" || (strings.HasPrefix(ix.Name, ".") && ix.DataStream == "") {
			continue // system or hidden index reached by a pattern: never ours
		}
		cands[ix.Name] = &cand{dataStream: ix.DataStream}
	}
	// Backing indices in generation order, per data stream, to date each by
	// the creation of its successor.
	generations := map[string][]string{}
	failure := map[string]bool{}
	protect := func(index, dataStream, why string) {
		if index == "" {
			return
		}
		if cands[index] == nil {
			cands[index] = &cand{dataStream: dataStream}
		}
		cands[index].protected = why
	}
	for _, ds := range v.resolve.DataStreams {
		generations[ds.Name] = ds.BackingIndices
		for _, b := range ds.BackingIndices {
			if b == "" {
				continue
			}
			if cands[b] == nil {
				cands[b] = &cand{}
			}
			cands[b].dataStream = ds.Name
		}
		if n := len(ds.BackingIndices); n > 0 {
			protect(ds.BackingIndices[n-1], ds.Name, "write index of data stream "+ds.Name)
		}
		for _, fi := range ds.FailureIndices {
			failure[fi] = true
		}
	}
	for _, ds := range v.dataStreams.DataStreams {
		if n := len(ds.Indices); n > 0 {
			names := make([]string, n)
			for i, x := range ds.Indices {
				names[i] = x.IndexName
			}
			generations[ds.Name] = names
			protect(names[n-1], ds.Name, "write index of data stream "+ds.Name)
		}
		if ds.FailureStore != nil {
			for _, fi := range ds.FailureStore.Indices {
				failure[fi.IndexName] = true
			}
		}
	}
	// Failure-store indices are not aged here: they hold rejected documents,
	// not the stream's data, and their write index is not in "indices".
	for fi := range failure {
		delete(cands, fi)
	}

	created := map[string]time.Time{}
	for name, s := range v.settings {
		if ms, err := strconv.ParseInt(s.Settings.Index.CreationDate, 10, 64); err == nil {
			created[name] = time.UnixMilli(ms).UTC()
		}
	}

	// Aliases: an explicit write index, or the only index of an alias that
	// does not say otherwise, takes the alias's writes.
	members := map[string][]string{}
	explicit := map[string]bool{}
	for index, a := range v.aliases {
		for alias, props := range a.Aliases {
			members[alias] = append(members[alias], index)
			if props.IsWriteIndex != nil && *props.IsWriteIndex {
				explicit[alias] = true
				if cd := cands[index]; cd != nil {
					cd.protected = "write index of alias " + alias
				}
			}
		}
	}
	for alias, ms := range members {
		if explicit[alias] || len(ms) != 1 {
			continue
		}
		index := ms[0]
		if w := v.aliases[index].Aliases[alias].IsWriteIndex; w != nil && !*w {
			continue
		}
		if cd := cands[index]; cd != nil && cd.protected == "" {
			cd.protected = "only index of alias " + alias + " (its write index)"
		}
	}

	out := make([]IndexDecision, 0, len(cands))
	for name, cd := range cands {
		d := IndexDecision{Class: c.Name, Index: name, DataStream: cd.dataStream}
		switch {
		case cd.dataStream != "":
			gen := generations[cd.dataStream]
			if k := slices.Index(gen, name); k >= 0 && k+1 < len(gen) {
				if tm, ok := created[gen[k+1]]; ok {
					d.Time, d.Source = tm, "rolled over"
				}
			}
		case nd != nil:
			if tm, ok := nd.find(name); ok {
				d.Time, d.Source = tm, "name date"
			}
		}
		if d.Source == "" {
			if tm, ok := created[name]; ok {
				d.Time, d.Source = tm, "creation date"
			}
		}
		if d.Source != "" {
			d.Age = now.Sub(d.Time)
		}
		switch {
		case cd.protected != "":
			d.Reason = cd.protected + ": kept"
		case d.Source == "":
			d.Reason = "no date known: kept"
		case d.Age > c.MaxAge:
			d.Delete = true
			d.Reason = fmt.Sprintf("age %s > %s (%s)", fmtAge(d.Age), fmtAge(c.MaxAge), d.Source)
		default:
			d.Reason = fmt.Sprintf("age %s <= %s (%s)", fmtAge(d.Age), fmtAge(c.MaxAge), d.Source)
		}
		out = append(out, d)
	}
	return out
}

// request is what the esapi request types have in common.
type request interface {
	Do(ctx context.Context, t esapi.Transport) (*esapi.Response, error)
}

// call performs req and decodes a successful JSON answer into out.
func (p *IndexPruner) call(ctx context.Context, what string, req request, out any) error {
	res, err := req.Do(ctx, p.Client)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrElasticsearch, what, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("%w: %s: %s", ErrElasticsearch, what, errorText(res))
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 256<<20)).Decode(out); err != nil {
		return fmt.Errorf("%w: %s: cannot decode the answer: %w", ErrElasticsearch, what, err)
	}
	return nil
}

func (p *IndexPruner) delete(ctx context.Context, names []string) error {
	t, f := true, false
	req := esapi.IndicesDeleteRequest{Index: names, ExpandWildcards: "none", AllowNoIndices: &t, IgnoreUnavailable: &f}
	res, err := req.Do(ctx, p.Client)
	if err != nil {
		return fmt.Errorf("%w: delete %s: %w", ErrElasticsearch, strings.Join(names, ","), err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("%w: delete %s: %s", ErrElasticsearch, strings.Join(names, ","), errorText(res))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return nil
}

// errorText summarises an error answer: status and Elasticsearch's reason.
func errorText(res *esapi.Response) string {
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var e struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Type != "" {
		return fmt.Sprintf("%s: %s: %s", res.Status(), e.Error.Type, e.Error.Reason)
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return res.Status() + ": " + s
}
