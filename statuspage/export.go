package statuspage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Export writes page slug as static files into dir (index.html,
// api/v2/*.json, history.atom, history.rss), to publish on hosting that
// does not share the fate of the infrastructure the page reports on. Files
// are written to temporary names and renamed, so a web server never serves
// half a file.
func (h *Handler) Export(ctx context.Context, slug, dir string) ([]string, error) {
	h.flush(slug) // a change waiting for RenderInterval is exported too
	h.mu.RLock()
	sp := h.pages[slug]
	h.mu.RUnlock()
	if sp == nil {
		return nil, fmt.Errorf("%w: page %q", ErrNotFound, slug)
	}
	var written []string
	for path, b := range sp.bodies {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		name := strings.TrimPrefix(path, "/")
		if name == "" {
			name = "index.html"
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return written, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".export-*")
		if err != nil {
			return written, err
		}
		_, werr := tmp.Write(b.raw)
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), dst)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return written, fmt.Errorf("statuspage: export %s: %w", dst, werr)
		}
		written = append(written, name)
	}
	return written, nil
}
