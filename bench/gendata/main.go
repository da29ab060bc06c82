// Command gendata writes the backup benchmark's data set: half compressible
// web and application logs, half random bytes, over thousands of small
// files and a few large ones. The output is deterministic for a given seed.
//
//	go run ./bench/gendata -size 512 -out /tmp/opskit-bench/data
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	sizeMiB := flag.Int("size", 512, "total size in MiB")
	out := flag.String("out", "", "output directory (must not exist)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gendata: -out is required")
		os.Exit(2)
	}
	if err := run(*out, int64(*sizeMiB)<<20, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

func run(out string, total int64, seed uint64) error {
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	half := total / 2
	// Logs: 40 files, rotated-style names, realistic variety.
	var written int64
	for i := 0; written < half; i++ {
		dir := filepath.Join(out, "logs", []string{"nginx", "app", "auth"}[i%3])
		os.MkdirAll(dir, 0o755)
		size := min(half/40+1, half-written)
		if err := writeLog(filepath.Join(dir, fmt.Sprintf("log-%03d.log", i)), size, rng); err != nil {
			return err
		}
		written += size
	}
	// Random: 4,000 small files (4-60 KiB) in nested directories, then a few
	// large files for the rest.
	written = 0
	buf := make([]byte, 1<<20)
	for i := 0; i < 4000 && written < half/2; i++ {
		dir := filepath.Join(out, "blobs", fmt.Sprintf("%02d", i%50), fmt.Sprintf("%02d", i%7))
		os.MkdirAll(dir, 0o755)
		n := int64(4<<10 + rng.IntN(56<<10))
		fillRandom(buf[:n], rng)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("obj-%05d.bin", i)), buf[:n], 0o644); err != nil {
			return err
		}
		written += n
	}
	os.MkdirAll(filepath.Join(out, "db"), 0o755)
	for i := 0; written < half; i++ {
		n := min(int64(64<<20), half-written)
		f, err := os.Create(filepath.Join(out, "db", fmt.Sprintf("table-%02d.dat", i)))
		if err != nil {
			return err
		}
		for left := n; left > 0; {
			k := min(left, int64(len(buf)))
			fillRandom(buf[:k], rng)
			f.Write(buf[:k])
			left -= k
		}
		if err := f.Close(); err != nil {
			return err
		}
		written += n
	}
	return nil
}

func fillRandom(b []byte, rng *rand.Rand) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

var (
	paths   = []string{"/", "/api/v1/items", "/api/v1/users/login", "/static/app.js", "/static/app.css", "/status", "/api/v2/reports?id=", "/favicon.ico"}
	agents  = []string{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0", "curl/8.5.0", "Go-http-client/2.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}
	levels  = []string{"INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"}
	modules = []string{"api.handlers", "worker.queue", "db.pool", "auth.session", "reports.render"}
)

func writeLog(path string, size int64, rng *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for t := int64(1763769600); n < size; t += int64(rng.IntN(3)) {
		var line string
		if rng.IntN(2) == 0 {
			line = fmt.Sprintf("10.%d.%d.%d - - [%d] \"GET %s%d HTTP/1.1\" %d %d \"-\" \"%s\" %.3f\n",
				rng.IntN(256), rng.IntN(256), rng.IntN(256), t, paths[rng.IntN(len(paths))], rng.IntN(100000),
				[]int{200, 200, 200, 304, 404, 500}[rng.IntN(6)], rng.IntN(90000), agents[rng.IntN(len(agents))], rng.Float64())
		} else {
			line = fmt.Sprintf("%d %s [%s] request_id=%016x user=%d duration_ms=%d msg=\"processed item %d\"\n",
				t, levels[rng.IntN(len(levels))], modules[rng.IntN(len(modules))], rng.Uint64(), rng.IntN(5000), rng.IntN(2000), rng.IntN(1000000))
		}
		if n+int64(len(line)) > size {
			line = line[:size-n]
		}
		w.WriteString(line)
		n += int64(len(line))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
