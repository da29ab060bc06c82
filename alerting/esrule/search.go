package esrule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// ErrElasticsearch is wrapped by errors Elasticsearch answered (a status
// other than 2xx), as opposed to transport errors.
var ErrElasticsearch = errors.New("esrule: elasticsearch error")

// Request is one request the runner sent, for logging and golden tests.
type Request struct {
	Method, Path string
	Body         []byte
}

// searcher runs a rule's queries and counts the bytes received.
type searcher struct {
	client   esapi.Transport
	received *atomic.Int64
	// trace, when set, sees every request (tests pin the bodies).
	trace func(Request)
	// pageSize is the documents asked per scroll page.
	pageSize int
}

func (s *searcher) do(ctx context.Context, method, path string, body any, out any) error {
	var buf []byte
	if body != nil {
		var err error
		if buf, err = json.Marshal(body); err != nil {
			return fmt.Errorf("esrule: encoding the query: %w", err)
		}
	}
	if s.trace != nil {
		s.trace(Request{Method: method, Path: path, Body: buf})
	}
	req, err := http.NewRequestWithContext(ctx, method, path, bytes.NewReader(buf))
	if err != nil {
		return fmt.Errorf("esrule: %s %s: %w", method, path, err)
	}
	if buf != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.client.Perform(req)
	if err != nil {
		return fmt.Errorf("esrule: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	s.received.Add(int64(len(b)))
	if err != nil {
		return fmt.Errorf("esrule: %s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		if len(b) > 512 {
			b = b[:512]
		}
		return fmt.Errorf("%w: %s %s: %d %s", ErrElasticsearch, method, path, res.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(out); err != nil {
		return fmt.Errorf("esrule: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func indexPath(index, api string, params url.Values) string {
	p := "/" + url.PathEscape(index) + "/" + api
	// Index expressions keep their commas and wildcards.
	p = strings.NewReplacer("%2C", ",", "%2A", "*").Replace(p)
	if len(params) > 0 {
		p += "?" + params.Encode()
	}
	return p
}

func searchParams() url.Values {
	return url.Values{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}}
}

type hit struct {
	ID     string `json:"_id"`
	Source Doc    `json:"_source"`
}

// docs fetches the documents of (start, end] in time order, scrolling as
// ElastAlert does; each page is handed to page.
func (s *searcher) docs(ctx context.Context, r Rule, start, end time.Time, page func([]hit) error) error {
	params := searchParams()
	params.Set("scroll", "30s")
	var res struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []hit `json:"hits"`
		} `json:"hits"`
	}
	if err := s.do(ctx, http.MethodPost, indexPath(r.Index, "_search", params), r.docsBody(start, end, s.pageSize), &res); err != nil {
		return err
	}
	scrollID := res.ScrollID
	defer func() {
		if scrollID != "" {
			// Free the scroll context even when ctx is done.
			_ = s.do(context.WithoutCancel(ctx), http.MethodDelete, "/_search/scroll", map[string]any{"scroll_id": scrollID}, nil)
		}
	}()
	for len(res.Hits.Hits) > 0 {
		if err := page(res.Hits.Hits); err != nil {
			return err
		}
		if len(res.Hits.Hits) < s.pageSize {
			return nil
		}
		res.Hits.Hits = nil
		if err := s.do(ctx, http.MethodPost, "/_search/scroll", map[string]any{"scroll": "30s", "scroll_id": scrollID}, &res); err != nil {
			return err
		}
		scrollID = res.ScrollID
	}
	return nil
}

func (s *searcher) count(ctx context.Context, r Rule, start, end time.Time) (int64, error) {
	var res struct {
		Count int64 `json:"count"`
	}
	err := s.do(ctx, http.MethodPost, indexPath(r.Index, "_count", searchParams()), r.countBody(start, end), &res)
	return res.Count, err
}

type termsBucket struct {
	Key      any   `json:"key"`
	DocCount int64 `json:"doc_count"`
	Metric   *struct {
		Value *float64 `json:"value"`
	} `json:"metric"`
	Values *struct {
		Buckets []struct {
			Key  any `json:"key"`
			Last struct {
				Value *float64 `json:"value"`
			} `json:"last"`
		} `json:"buckets"`
	} `json:"values"`
}

type aggResult struct {
	Aggregations struct {
		Counts struct {
			Buckets []termsBucket `json:"buckets"`
		} `json:"counts"`
		Keys struct {
			Buckets []termsBucket `json:"buckets"`
		} `json:"keys"`
		Values struct {
			Buckets []termsBucket `json:"buckets"`
		} `json:"values"`
		termsBucket
	} `json:"aggregations"`
}

// decode runs a search and reads its aggregations. The embedded bucket
// (a top-level metric or values aggregation) is hidden by the member of the
// same name, so the object is decoded twice.
func (a *aggResult) decode(ctx context.Context, s *searcher, path string, body any) error {
	var raw struct {
		Aggregations json.RawMessage `json:"aggregations"`
	}
	if err := s.do(ctx, http.MethodPost, path, body, &raw); err != nil {
		return err
	}
	if len(raw.Aggregations) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw.Aggregations, &a.Aggregations); err != nil {
		return fmt.Errorf("esrule: %s: decoding aggregations: %w", path, err)
	}
	return json.Unmarshal(raw.Aggregations, &a.Aggregations.termsBucket)
}

func (s *searcher) terms(ctx context.Context, r Rule, start, end time.Time) ([]Bucket, error) {
	var res aggResult
	if err := res.decode(ctx, s, indexPath(r.Index, "_search", searchParams()), r.termsBody(start, end)); err != nil {
		return nil, err
	}
	out := make([]Bucket, 0, len(res.Aggregations.Counts.Buckets))
	for _, b := range res.Aggregations.Counts.Buckets {
		out = append(out, Bucket{Key: text(b.Key), Count: b.DocCount})
	}
	return out, nil
}

// metricValue is one metric per query key value ("" without one).
type metricValue struct {
	key   string
	value *float64
}

func (s *searcher) metric(ctx context.Context, r Rule, start, end time.Time) ([]metricValue, error) {
	var res aggResult
	if err := res.decode(ctx, s, indexPath(r.Index, "_search", searchParams()), r.metricBody(start, end)); err != nil {
		return nil, err
	}
	if len(r.QueryKey) == 0 {
		var v *float64
		if m := res.Aggregations.Metric; m != nil {
			v = m.Value
		}
		return []metricValue{{value: v}}, nil
	}
	var out []metricValue
	for _, b := range res.Aggregations.Keys.Buckets {
		var v *float64
		if b.Metric != nil {
			v = b.Metric.Value
		}
		out = append(out, metricValue{key: text(b.Key), value: v})
	}
	return out, nil
}

// cardinality returns one synthetic document per (key, value), stamped
// with when the value was last seen, sorted by that time.
func (s *searcher) cardinality(ctx context.Context, r Rule, start, end time.Time) ([]Doc, error) {
	var res aggResult
	if err := res.decode(ctx, s, indexPath(r.Index, "_search", searchParams()), r.cardinalityBody(start, end)); err != nil {
		return nil, err
	}
	groups := []termsBucket{res.Aggregations.termsBucket}
	if len(r.QueryKey) == 1 {
		groups = res.Aggregations.Keys.Buckets
	}
	var docs []Doc
	for _, g := range groups {
		if g.Values == nil {
			continue
		}
		for _, v := range g.Values.Buckets {
			if v.Last.Value == nil {
				continue
			}
			d := Doc{r.TimestampField: time.UnixMilli(int64(*v.Last.Value)).UTC(), r.CardinalityField: text(v.Key)}
			if len(r.QueryKey) == 1 {
				d[r.QueryKey[0]] = text(g.Key)
			}
			docs = append(docs, d)
		}
	}
	sortDocs(docs, r.TimestampField)
	return docs, nil
}

func (s *searcher) seed(ctx context.Context, r Rule, field string, start, end time.Time) ([]string, error) {
	var res aggResult
	if err := res.decode(ctx, s, indexPath(r.Index, "_search", searchParams()), r.seedBody(field, start, end)); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Aggregations.Values.Buckets))
	for _, b := range res.Aggregations.Values.Buckets {
		out = append(out, text(b.Key))
	}
	return out, nil
}

// segmentCounts is what one run_every segment counted.
type segmentCounts struct {
	count   int64
	buckets []Bucket
}

// maxSegmentBuckets keeps one segments query under Elasticsearch's default
// search.max_buckets (65,536).
const maxSegmentBuckets = 60000

// segments counts every segment of (start, end] with as few queries as
// the bucket limit allows, by segment start (Unix milliseconds).
func (s *searcher) segments(ctx context.Context, r Rule, start, end time.Time, size time.Duration) (map[int64]segmentCounts, error) {
	perSegment := 1
	if r.Mode() == Terms {
		perSegment += r.TermsSize
	}
	chunk := time.Duration(max(1, maxSegmentBuckets/perSegment)) * size
	out := map[int64]segmentCounts{}
	for cs := start; cs.Before(end); cs = cs.Add(chunk) {
		ce := cs.Add(chunk)
		if ce.After(end) {
			ce = end
		}
		var res struct {
			Aggregations struct {
				Segments struct {
					Buckets []struct {
						Key      int64 `json:"key"`
						DocCount int64 `json:"doc_count"`
						Counts   struct {
							Buckets []termsBucket `json:"buckets"`
						} `json:"counts"`
					} `json:"buckets"`
				} `json:"segments"`
			} `json:"aggregations"`
		}
		if err := s.do(ctx, http.MethodPost, indexPath(r.Index, "_search", searchParams()), r.segmentsBody(cs, ce, size), &res); err != nil {
			return nil, err
		}
		for _, b := range res.Aggregations.Segments.Buckets {
			sc := segmentCounts{count: b.DocCount}
			for _, tb := range b.Counts.Buckets {
				sc.buckets = append(sc.buckets, Bucket{Key: text(tb.Key), Count: tb.DocCount})
			}
			out[b.Key-1] = sc
		}
	}
	return out, nil
}
