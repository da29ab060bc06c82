package sshtest

import (
	"errors"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from Addr to a target, and can drop or
// stall them on demand. It is safe for concurrent use.
type Proxy struct {
	Addr string // 127.0.0.1:port to dial instead of the target

	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond
	conns    map[net.Conn]struct{}
	stalled  bool
	closed   bool
	up, down int64
	cutAt    int64 // cut when up reaches this; 0: not armed
	cuts     int
	refuse   bool
}

// NewProxy starts a proxy to target (host:port) for the duration of t.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshtest: proxy: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse || p.closed
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.conns[up] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c, true)
		go p.pipe(c, up, false)
	}
}

// pipe copies src to dst until either fails, counting bytes and honouring
// stalls and armed cuts.
func (p *Proxy) pipe(dst, src net.Conn, upward bool) {
	defer p.wg.Done()
	defer func() {
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled && !p.closed {
				p.cond.Wait()
			}
			if p.closed {
				p.mu.Unlock()
				return
			}
			if upward {
				p.up += int64(n)
				if p.cutAt > 0 && p.up >= p.cutAt {
					p.cutAt = 0
					p.cutLocked()
					p.mu.Unlock()
					return
				}
			} else {
				p.down += int64(n)
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut closes every connection the proxy carries now. New connections are
// still accepted (the network came back), unless Refuse was called.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

func (p *Proxy) cutLocked() {
	p.cuts++
	for c := range p.conns {
		c.Close()
	}
	p.stalled = false
	p.cond.Broadcast()
}

// CutAfter arms a cut: once n more bytes went from clients to the target
// (counting from now), every connection is closed, before those bytes are
// forwarded. The cut happens once.
func (p *Proxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAt = p.up + n
}

// Cuts reports how many cuts happened.
func (p *Proxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// Stall stops forwarding bytes in both directions without closing any
// connection, as a silently dead link does; Resume, Cut or Close end it.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

// Resume ends a Stall.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.cond.Broadcast()
}

// Refuse makes the proxy close new connections at once (refuse=true), as
// an unreachable server would, or accept them again.
func (p *Proxy) Refuse(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = refuse
}

// Bytes reports how many bytes went up (client to target) and down.
func (p *Proxy) Bytes() (up, down int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.up, p.down
}

// Close stops the proxy and closes every connection; it waits for its
// goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	p.wg.Wait()
}
