package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rocketfin/rocketfin/internal/testenv"
)

// chrome is a headless Debian chromium driven by chromedp, collecting the console errors of every
// page it opens.
type chrome struct {
	t *testing.T
	// base is RocketFin's: errors of other sites' pages (the provider's login page) are theirs.
	base   string
	ctx    context.Context
	axe    string
	mu     sync.Mutex
	errors []string
	// phone is the screen width the browser emulates, 0 for a desktop window; check then
	// requires pages to fit it.
	phone int
}

// newChrome starts a browser with its own profile; without ROCKETFIN_TEST_CHROMIUM and
// ROCKETFIN_TEST_AXE (scripts/test sets both) the test is skipped, or fails under the full suite.
func newChrome(t *testing.T, base string) *chrome {
	t.Helper()
	bin, axePath := os.Getenv("ROCKETFIN_TEST_CHROMIUM"), os.Getenv("ROCKETFIN_TEST_AXE")
	if bin == "" || axePath == "" {
		testenv.Missing(t, "ROCKETFIN_TEST_CHROMIUM and ROCKETFIN_TEST_AXE are not set (scripts/test installs chromium and axe-core)")
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	c := &chrome{t: t, ctx: ctx, axe: string(axe), base: base}
	// The first action starts the browser, with the context that owns it (no timeout).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				c.fail(fmt.Sprintf("console.error: %s", argsText(e.Args)))
			}
		case *runtime.EventExceptionThrown:
			c.fail(fmt.Sprintf("exception: %s", e.ExceptionDetails.Text))
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError && (e.Entry.URL == "" || strings.HasPrefix(e.Entry.URL, base)) {
				c.fail(fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *cdppage.EventJavascriptDialogOpening:
			go func() {
				_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func argsText(args []*runtime.RemoteObject) string {
	var b strings.Builder
	for _, a := range args {
		if a.Value != nil {
			b.Write(a.Value)
		} else {
			b.WriteString(a.Description)
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// expected drops the browser errors so far that hold what, which the test caused on purpose (a
// page refused with 403 is logged as a failed load).
func (c *chrome) expected(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.errors[:0]
	for _, e := range c.errors {
		if !strings.Contains(e, what) {
			kept = append(kept, e)
		}
	}
	c.errors = kept
}

func (c *chrome) fail(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors = append(c.errors, msg)
}

// do runs steps, failing the test on an error.
func (c *chrome) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(c.ctx, chromedp.Location())
		body, _ := chromedp.Run(c.ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		c.t.Fatalf("%s: %v\nat %s\n%.3000s", what, err, loc, body)
	}
}

// get runs one action that answers a value.
func get[T any](c *chrome, what string, a chromedp.Action[T]) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// check fails the test on console errors so far and on serious or critical accessibility
// violations of the page shown, as axe-core finds them; with ROCKETFIN_SCREENSHOTS set it also
// saves a screenshot of the page there.
func (c *chrome) check(name string) {
	c.t.Helper()
	get(c, "load axe", chromedp.Evaluate[any](c.axe, chromedp.EvalIgnoreExceptions))
	out := get(c, "axe on "+name, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))))`,
		chromedp.EvalAwaitPromise))
	var violations []map[string]any
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		c.t.Fatalf("axe on %s: %v %s", name, err, out)
	}
	for _, v := range violations {
		c.t.Errorf("accessibility on %s: %v", name, v)
	}
	c.mu.Lock()
	errs := c.errors
	c.errors = nil
	c.mu.Unlock()
	for _, e := range errs {
		c.t.Errorf("browser error on %s: %s", name, e)
	}
	if c.phone > 0 {
		if w := get(c, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > c.phone {
			c.t.Errorf("%s is %dpx wide on a %dpx phone", name, w, c.phone)
		}
	}
	if dir := os.Getenv("ROCKETFIN_SCREENSHOTS"); dir != "" && screenshots[name] {
		png := get(c, "screenshot "+name, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
}

// screenshots are the pages whose pictures the README shows (docs/screenshots).
var screenshots = map[string]bool{"home": true, "keys-created": true, "playground-result": true, "decision": true, "usage": true,
	"team": true, "audit": true, "signup-done": true, "docs-quickstart": true, "keys-refused-finance": true}

// text is the text of the first element sel matches.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	return strings.TrimSpace(get(c, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// value is the value of the input sel matches.
func (c *chrome) value(sel string) string {
	c.t.Helper()
	return get(c, "read "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// asPhone makes the browser a phone of width CSS pixels.
func (c *chrome) asPhone(width int) {
	c.t.Helper()
	c.do("phone", chromedp.EmulateViewport(int64(width), 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	c.phone = width
}

// signIn signs in through the provider's own login page.
func (c *chrome) signIn(base, user, password string) {
	c.t.Helper()
	c.do("sign in as "+user,
		chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.side`)),
	)
}
