// Command portcullis-load is the load generator we measure the token endpoint with. It sends
// client-credentials grants (and optionally introspections) to a Portcullis server on this machine
// for a fixed time, and reports throughput, latency and, given the server's process id, the
// server's CPU time, so results read as "operations per server CPU-second".
//
//	portcullis-load -url http://localhost:8080 -client ID -secret SECRET -duration 20s -c 16 -pid PID
//
// It only targets loopback addresses and stops by itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-load:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("portcullis-load", flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "server base URL (loopback only)")
	client := fs.String("client", "", "client_id of a confidential client with client_credentials")
	secret := fs.String("secret", "", "its client_secret")
	mode := fs.String("mode", "grant", "grant (client credentials) or introspect")
	duration := fs.Duration("duration", 20*time.Second, "how long to send (at most 10m)")
	conc := fs.Int("c", 16, "concurrent requests (1 to 512)")
	pid := fs.Int("pid", 0, "server process id, to report server CPU time (Linux /proc)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *client == "" || *secret == "" {
		return errors.New("-client and -secret are required")
	}
	if *duration <= 0 || *duration > 10*time.Minute || *conc < 1 || *conc > 512 {
		return errors.New("-duration must be in (0, 10m] and -c in [1, 512]")
	}
	u, err := url.Parse(*base)
	if err != nil {
		return err
	}
	if !loopback(u.Hostname()) {
		return fmt.Errorf("refusing to load %s: only loopback targets are allowed", u.Host)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var introspectToken string
	if *mode == "introspect" {
		introspectToken, err = grant(hc, *base, *client, *secret)
		if err != nil {
			return err
		}
	} else if *mode != "grant" {
		return fmt.Errorf("unknown -mode %q", *mode)
	}

	cpu0, _ := cpuSeconds(*pid)
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var failures int
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			fails := 0
			for ctx.Err() == nil {
				t := time.Now()
				var err error
				if *mode == "grant" {
					_, err = grant(hc, *base, *client, *secret)
				} else {
					err = introspect(hc, *base, *client, *secret, introspectToken)
				}
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					fails++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			failures += fails
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	n := len(lat)
	if n == 0 {
		return fmt.Errorf("no successful request (%d failures)", failures)
	}
	pct := func(p float64) time.Duration { return lat[min(n-1, int(float64(n)*p))] }
	fmt.Fprintf(out, "mode=%s concurrency=%d duration=%s ok=%d failed=%d\n", *mode, *conc, elapsed.Round(time.Millisecond), n, failures)
	fmt.Fprintf(out, "throughput: %.0f/s  latency p50=%s p90=%s p99=%s\n", float64(n)/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
	if cpu1, err := cpuSeconds(*pid); err == nil && *pid > 0 && cpu1 > cpu0 {
		fmt.Fprintf(out, "server CPU: %.2fs  => %.0f per server CPU-second\n", cpu1-cpu0, float64(n)/(cpu1-cpu0))
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func post(hc *http.Client, endpoint, client, secret string, form url.Values) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(client), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

func grant(hc *http.Client, base, client, secret string) (string, error) {
	body, err := post(hc, base+"/oauth2/token", client, secret, url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("no access token in %s", body)
	}
	return tok.AccessToken, nil
}

func introspect(hc *http.Client, base, client, secret, token string) error {
	body, err := post(hc, base+"/oauth2/introspect", client, secret, url.Values{"token": {token}})
	if err != nil {
		return err
	}
	if !strings.Contains(string(body), `"active":true`) {
		return fmt.Errorf("inactive: %s", body)
	}
	return nil
}

// cpuSeconds reads utime+stime of a process from /proc/PID/stat (fields 14 and 15, in clock
// ticks of 1/100 s on Linux).
func cpuSeconds(pid int) (float64, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100, nil
}
