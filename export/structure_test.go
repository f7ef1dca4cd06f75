package export

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mobileStore is a store whose rules the mobile formats can express.
func (w *world) mobileStore() (leafPin, backup, rootPin string) {
	t, p := w.t, w.pki
	w.cert("root.pem", p.Root)
	w.cert("device.pem", p.SelfSigned(t, "device.test"))
	leafPin, backup, rootPin = pinOf(p.Leaf(t, "x.corp.test")), randomPin(t), pinOf(p.Root)
	w.file("rules.toml", `
[[rule]]
hosts = ["**.corp.test"]
anchors = ["root.pem"]
pins = ["`+leafPin+`", "`+rootPin+`"]
pins_expire = 2027-06-30

[[rule]]
hosts = ["api.corp.test"]
pins = []

[[rule]]
hosts = ["device.test"]
certificates = ["device.pem"]
allow_expired = true

[[rule]]
hosts = ["**.pub.example.com"]
pins = ["`+leafPin+`", "`+backup+`"]
pins_expire = 2027-06-30

[[rule]]
hosts = ["open.pub.example.com"]
pins = []
`)
	return
}

// xmlNode is a generic XML element.
type xmlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []xmlNode  `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n xmlNode) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// checkNSC checks a Network Security Config against its documented
// grammar (developer.android.com/privacy-and-security/security-config and
// AOSP's XmlConfigSource): one optional base-config, domain-configs with at
// least one domain each, one trust-anchors per config, pin-sets only in
// domain-config, SHA-256 pins of 32 bytes, expiration as yyyy-MM-dd, no
// domain twice, and every @raw certificate present.
func checkNSC(t *testing.T, dir string) xmlNode {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, AndroidConfig))
	if err != nil {
		t.Fatal(err)
	}
	var root xmlNode
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	dec.Strict = true
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, data)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if cd, ok := tok.(xml.CharData); err != nil || !ok || strings.TrimSpace(string(cd)) != "" {
			t.Fatalf("content after the root element: %v %v", tok, err)
		}
	}
	if root.XMLName.Local != "network-security-config" {
		t.Fatalf("root %q", root.XMLName.Local)
	}
	date := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	raw := regexp.MustCompile(`^@raw/[a-z0-9_]+$`)
	seen := map[string]bool{}
	bases := 0
	var config func(n xmlNode, domain bool)
	config = func(n xmlNode, domain bool) {
		anchors, pinsets, domains := 0, 0, 0
		for _, c := range n.Nodes {
			switch c.XMLName.Local {
			case "domain":
				if !domain {
					t.Errorf("domain in %s", n.XMLName.Local)
				}
				domains++
				if v, ok := c.attr("includeSubdomains"); ok && v != "true" && v != "false" {
					t.Errorf("includeSubdomains=%q", v)
				}
				name := strings.TrimSpace(c.Text)
				if name == "" || seen[name] {
					t.Errorf("domain %q empty or given twice", name)
				}
				seen[name] = true
			case "trust-anchors":
				anchors++
				for _, cert := range c.Nodes {
					src, _ := cert.attr("src")
					if cert.XMLName.Local != "certificates" || (src != "system" && !raw.MatchString(src)) {
						t.Errorf("trust-anchors holds %s src=%q", cert.XMLName.Local, src)
					}
					if v, ok := cert.attr("overridePins"); !ok || v != "false" {
						t.Errorf("certificates %s: overridePins=%q, want false", src, v)
					}
					if raw.MatchString(src) {
						if _, err := os.Stat(filepath.Join(dir, "res", "raw", strings.TrimPrefix(src, "@raw/")+".der")); err != nil {
							t.Errorf("%s: %v", src, err)
						}
					}
				}
			case "pin-set":
				if !domain {
					t.Errorf("pin-set outside domain-config")
				}
				pinsets++
				if v, ok := c.attr("expiration"); ok && !date.MatchString(v) {
					t.Errorf("expiration %q", v)
				}
				for _, pin := range c.Nodes {
					b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pin.Text))
					if d, _ := pin.attr("digest"); pin.XMLName.Local != "pin" || d != "SHA-256" || err != nil || len(b) != 32 {
						t.Errorf("bad pin %+v", pin)
					}
				}
			case "domain-config":
				if !domain {
					t.Errorf("domain-config in base-config")
				}
				config(c, true)
			default:
				t.Errorf("unknown element %s in %s", c.XMLName.Local, n.XMLName.Local)
			}
		}
		if anchors > 1 || pinsets > 1 || (domain && domains == 0) {
			t.Errorf("%s: %d trust-anchors, %d pin-sets, %d domains", n.XMLName.Local, anchors, pinsets, domains)
		}
	}
	for _, c := range root.Nodes {
		switch c.XMLName.Local {
		case "base-config":
			bases++
			config(c, false)
		case "domain-config":
			config(c, true)
		default:
			t.Errorf("unknown element %s", c.XMLName.Local)
		}
	}
	if bases > 1 {
		t.Errorf("%d base-configs", bases)
	}
	return root
}

func TestAndroidStructure(t *testing.T) {
	w := newWorld(t)
	w.mobileStore()
	dir := w.write(Options{Format: "android"})
	root := checkNSC(t, dir)
	data, _ := os.ReadFile(filepath.Join(dir, AndroidConfig))
	s := string(data)
	for _, want := range []string{
		`<domain includeSubdomains="true">corp.test</domain>`,
		`<domain includeSubdomains="false">api.corp.test</domain>`,
		`<domain includeSubdomains="false">device.test</domain>`,
		`<pin-set expiration="2027-07-01">`, // pins_expire + 1 day
		`<certificates src="system" overridePins="false" />`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in\n%s", want, s)
		}
	}
	// api.corp.test lifts the pins: its entry has none, and keeps the
	// domain's anchor without the system roots.
	for _, dc := range root.Nodes {
		if dc.XMLName.Local != "domain-config" || strings.TrimSpace(dc.Nodes[0].Text) != "api.corp.test" {
			continue
		}
		for _, c := range dc.Nodes {
			if c.XMLName.Local == "pin-set" {
				t.Errorf("api.corp.test has a pin-set")
			}
			if c.XMLName.Local == "trust-anchors" && (len(c.Nodes) != 1 || strings.Contains(xmlString(c), "system")) {
				t.Errorf("api.corp.test trust-anchors: %+v", c)
			}
		}
	}
}

func xmlString(n xmlNode) string { b, _ := xml.Marshal(n); return string(b) }

// plistJSON parses a plist with Python's plistlib and returns it as JSON.
func plistJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		skipOrFail(t, "no python3 to parse the plist with plistlib")
	}
	out, err := exec.Command(py, "-c", "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))", file).CombinedOutput()
	if err != nil {
		t.Fatalf("plistlib: %v\n%s", err, out)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func checkXML(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var root xmlNode
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	dec.Strict = true
	if err := dec.Decode(&root); err != nil || root.XMLName.Local != "plist" {
		t.Fatalf("not a well-formed plist: %v\n%s", err, data)
	}
}

func TestATSStructure(t *testing.T) {
	w := newWorld(t)
	w.mobileStore()
	dir := w.write(Options{Format: "ios-ats", Hosts: []string{"**.pub.example.com"}, AllowLossy: true})
	file := filepath.Join(dir, ATSFile)
	checkXML(t, file)
	v := plistJSON(t, file)
	domains := v["NSAppTransportSecurity"].(map[string]any)["NSPinnedDomains"].(map[string]any)
	pub, ok := domains["pub.example.com"].(map[string]any)
	if !ok || len(domains) != 1 {
		t.Fatalf("NSPinnedDomains = %v", domains)
	}
	if pub["NSIncludesSubdomains"] != true {
		t.Errorf("NSIncludesSubdomains = %v", pub["NSIncludesSubdomains"])
	}
	if _, both := pub["NSPinnedCAIdentities"]; both {
		t.Errorf("leaf and CA identities both given: ATS would AND them")
	}
	leaf := pub["NSPinnedLeafIdentities"].([]any)
	if len(leaf) != 2 || leaf[0].(map[string]any)["SPKI-SHA256-BASE64"] == "" {
		t.Errorf("leaf identities %v", leaf)
	}
	// **.corp.test trusts its own anchor and not the system's: refused.
	if _, err := w.tryBuild(Options{Format: "ios-ats", AllowLossy: true}); err == nil || !strings.Contains(err.Error(), "the system CAs would vouch") {
		t.Errorf("want a refusal for anchors without system roots, got %v", err)
	}
}

func TestTrustKitStructure(t *testing.T) {
	w := newWorld(t)
	w.mobileStore()
	dir := w.write(Options{Format: "trustkit", Hosts: []string{"**.pub.example.com"}})
	file := filepath.Join(dir, TrustKitFile)
	checkXML(t, file)
	v := plistJSON(t, file)
	cfg := v["TSKConfiguration"].(map[string]any)
	domains := cfg["TSKPinnedDomains"].(map[string]any)
	pub := domains["pub.example.com"].(map[string]any)
	if pub["TSKIncludeSubdomains"] != true || pub["TSKEnforcePinning"] != true || pub["TSKDisableDefaultReportUri"] != true {
		t.Errorf("pub.example.com = %v", pub)
	}
	if pub["TSKExpirationDate"] != "2027-07-02" {
		t.Errorf("TSKExpirationDate = %v, want pins_expire + 2 days (UTC)", pub["TSKExpirationDate"])
	}
	if len(pub["TSKPublicKeyHashes"].([]any)) != 2 {
		t.Errorf("hashes %v", pub["TSKPublicKeyHashes"])
	}
	open := domains["open.pub.example.com"].(map[string]any)
	if open["kSKExcludeSubdomainFromParentPolicy"] != true || len(open) != 1 {
		t.Errorf("open.pub.example.com = %v, want the exclusion alone", open)
	}
	// One pin: TrustKit would throw at start-up.
	w.file("one.toml", "[[rule]]\nhosts = [\"one.pub2.example.com\"]\npins = [\""+randomPin(t)+"\"]\n")
	if _, err := w.tryBuild(Options{Format: "trustkit", Hosts: []string{"one.pub2.example.com"}}); err == nil || !strings.Contains(err.Error(), "at least 2 pins") {
		t.Errorf("want a refusal for one pin, got %v", err)
	}
}

// dartParser is the tree-sitter check of a Dart file; it prints the ERROR
// and MISSING nodes and fails when there is any.
const dartParser = `
const TS = require('web-tree-sitter');
const fs = require('fs');
(async () => {
  const Parser = TS.Parser || TS;
  const Language = TS.Language || Parser.Language;
  await Parser.init();
  const lang = await Language.load(require.resolve('tree-sitter-wasms/out/tree-sitter-dart.wasm'));
  const p = new Parser();
  p.setLanguage(lang);
  const src = fs.readFileSync(process.argv[2], 'utf8');
  const tree = p.parse(src);
  const bad = [];
  const walk = (n) => { if (n.type === 'ERROR' || n.isMissing) bad.push(n); for (let i = 0; i < n.childCount; i++) walk(n.child(i)); };
  walk(tree.rootNode);
  for (const n of bad.slice(0, 10)) console.log((n.isMissing ? 'MISSING ' : 'ERROR ') + (n.startPosition.row + 1) + ':' + (n.startPosition.column + 1) + ': ' + src.slice(n.startIndex, n.startIndex + 80));
  if (bad.length || tree.rootNode.hasError) process.exit(1);
  console.log('ok');
})().catch((e) => { console.log(String(e)); process.exit(2); });
`

// dartModules is where .ci/run installs web-tree-sitter and
// tree-sitter-wasms ($HTTPTRUST_NODE_MODULES overrides it).
func dartModules(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HTTPTRUST_NODE_MODULES")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "httptrust-ci", "node_modules")
	}
	for _, m := range []string{"web-tree-sitter", "tree-sitter-wasms/out/tree-sitter-dart.wasm"} {
		if _, err := os.Stat(filepath.Join(dir, m)); err != nil {
			skipOrFail(t, "no "+m+" in "+dir+" (npm install web-tree-sitter tree-sitter-wasms there)")
		}
	}
	return dir
}

func parseDart(t *testing.T, node, modules, file string) (string, error) {
	t.Helper()
	script := filepath.Join(filepath.Dir(modules), "httptrust-dart-check.js")
	if err := os.WriteFile(script, []byte(dartParser), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, script, file).CombinedOutput()
	return string(out), err
}

func TestDartGrammar(t *testing.T) {
	node := need(t, "node")
	modules := dartModules(t)
	w := newWorld(t)
	w.scenario("")
	w.file("more.toml", `
[[rule]]
hosts = ["**.pub.example.com"]
pins = ["`+randomPin(t)+`", "`+randomPin(t)+`"]
pins_expire = 2027-06-30
enforce = false

[[rule]]
hosts = ["10.1.0.0/16"]
anchors = ["root.pem"]
min_tls = "1.3"
`)
	dir := w.write(Options{Format: "dart"})
	file := filepath.Join(dir, DartLibrary)
	out, err := parseDart(t, node, modules, file)
	if err != nil {
		t.Fatalf("the Dart grammar refuses %s: %v\n%s", file, err, out)
	}
	// The check itself catches a syntax error.
	broken := filepath.Join(t.TempDir(), "broken.dart")
	os.WriteFile(broken, []byte("void f( {\n"), 0o600)
	if out, err := parseDart(t, node, modules, broken); err == nil {
		t.Fatalf("a broken file parsed: %s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "certificates")); err != nil {
		t.Errorf("no certificates/ folder: %v", err)
	}
}
