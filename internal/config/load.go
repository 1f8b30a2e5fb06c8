package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/go-viper/mapstructure/v2"
	"github.com/shopspring/decimal"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix prefixes every environment override: chain.rpc_url is
// overridden by POLYBOT_CHAIN_RPC_URL.
const EnvPrefix = "POLYBOT"

// SearchPaths are the files Load tries, in order, when given no path.
func SearchPaths() []string {
	return []string{"./" + DefaultConfigFile, DefaultSystemFile}
}

// Load reads the YAML file at path (or the first of SearchPaths that exists
// when path is ""), applies POLYBOT_* environment overrides and validates the
// result. It returns the path it read. A config that loads but is invalid
// yields an error wrapping *ValidationError.
func Load(path string) (*Config, string, error) {
	if path == "" {
		found, err := search(SearchPaths())
		if err != nil {
			return nil, "", err
		}
		path = found
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("read config: %w", err)
	}
	cfg, err := parse(b, true)
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		return nil, path, fmt.Errorf("config %s has %d problem(s):\n%w", path, len(verr.Problems), err)
	case err != nil:
		return nil, path, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, path, nil
}

// Parse decodes and validates YAML bytes. Unlike Load it ignores the
// environment, so its result depends on its input alone.
func Parse(yamlBytes []byte) (*Config, error) {
	return parse(yamlBytes, false)
}

func search(paths []string) (string, error) {
	for _, p := range paths {
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("look for config file %s: %w", p, err)
		}
	}
	return "", fmt.Errorf("no config file found: looked in %s", strings.Join(paths, ", "))
}

func parse(b []byte, useEnv bool) (*Config, error) {
	raw, err := readYAML(b)
	if err != nil {
		return nil, err
	}
	problems, renamed := migrateExchanges(raw)
	if useEnv {
		problems = append(problems, oldExchangeEnv(os.LookupEnv)...)
		problems = append(problems, unknownEnv(os.Environ())...)
	}
	problems = append(problems, unknownKeys(raw, reflect.TypeOf(Config{}), "")...)

	v := viper.New()
	for key, val := range defaultSettings() {
		v.SetDefault(key, val)
	}
	if useEnv {
		v.SetEnvPrefix(EnvPrefix)
		v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
		v.AutomaticEnv()
	}
	if err := v.MergeConfigMap(raw); err != nil {
		return nil, fmt.Errorf("merge config: %w", err)
	}

	var cfg Config
	err = v.Unmarshal(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		leaderDefaultsHook, durationHook, decimalHook, addressHook, addressListHook, unsignedHook,
	)))
	if err != nil {
		problems = append(problems, decodeProblems(err)...)
	}
	problems = renameProblems(mergeProblems(problems, cfg.problems()), renamed)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return &cfg, nil
}

// readYAML decodes a YAML document into a map. Float scalars are kept as
// their literal text, so that 0.1 reaches decimal.Decimal as "0.1" and never
// passes through float64; hex integers stay text too (an address such as
// 0x00…01 must not become the number 1). Null values are dropped: a key set
// to null falls back to its default.
func readYAML(b []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return map[string]any{}, nil // empty document
	}
	keepLiterals(&doc, map[*yaml.Node]bool{})
	var raw map[string]any
	if err := doc.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return dropNulls(raw).(map[string]any), nil
}

func keepLiterals(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if n.Kind == yaml.ScalarNode {
		tag := n.ShortTag()
		lower := strings.ToLower(n.Value)
		if tag == "!!float" || (tag == "!!int" && (strings.HasPrefix(lower, "0x") || strings.HasPrefix(lower, "-0x") || strings.HasPrefix(lower, "+0x"))) {
			n.Tag = "!!str"
		}
	}
	for _, c := range n.Content {
		keepLiterals(c, seen)
	}
	keepLiterals(n.Alias, seen)
}

func dropNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if val == nil {
				delete(t, k)
				continue
			}
			t[k] = dropNulls(val)
		}
		return t
	case []any:
		for i := range t {
			t[i] = dropNulls(t[i])
		}
		return t
	default:
		return v
	}
}

// defaultSettings flattens Default() into dotted viper keys, so that
// AutomaticEnv knows every key.
func defaultSettings() map[string]any {
	out := map[string]any{}
	flatten("", toPlain(Default().dump(false)), out)
	return out
}

func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, val := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		flatten(key, val, out)
	}
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	decimalType  = reflect.TypeOf(decimal.Decimal{})
	addressType  = reflect.TypeOf(common.Address{})
	addressList  = reflect.TypeOf([]common.Address{})
	leaderType   = reflect.TypeOf(Leader{})
)

// Wants shared by decoding and validation.
const (
	wantAddress  = "a 0x-prefixed 20-byte hex address"
	wantDuration = "a duration with a unit, such as 500ms, 30s, 10m or 1h30m"
	wantDecimal  = "a decimal number such as 0.1 or 25"
)

// maxExponent bounds the decimal exponent a config value may use, and maxDecimalLen the length
// of its text.
const (
	maxExponent   = 40
	maxDecimalLen = 100
)

// hookError is a decode hook's complaint about one value.
type hookError struct {
	value string
	want  string
}

func (e *hookError) Error() string { return fmt.Sprintf("bad value %q: want %s", e.value, e.want) }

// leaderDefaultsHook makes a leader entry without "enabled" enabled.
func leaderDefaultsHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != leaderType {
		return data, nil
	}
	m, ok := data.(map[string]any)
	if !ok {
		return data, nil
	}
	if _, set := m["enabled"]; set {
		return data, nil
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out["enabled"] = true
	return out, nil
}

// unsignedHook refuses negative numbers for unsigned fields, which weakly
// typed decoding would otherwise wrap around (-1 becoming 2^64-1).
func unsignedHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	switch to.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return data, nil
	}
	v := reflect.ValueOf(data)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			return nil, &hookError{value: fmt.Sprint(data), want: wantType(to)}
		}
	case reflect.Float32, reflect.Float64:
		if v.Float() < 0 {
			return nil, &hookError{value: fmt.Sprint(data), want: wantType(to)}
		}
	}
	return data, nil
}

func durationHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, &hookError{value: v, want: wantDuration}
		}
		return d, nil
	default:
		// A bare number has no unit: 30 would silently mean 30ns.
		return nil, &hookError{value: fmt.Sprint(data), want: wantDuration}
	}
}

func decimalHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != decimalType {
		return data, nil
	}
	switch v := data.(type) {
	case decimal.Decimal:
		return v, nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return decimal.Decimal{}, nil
		}
		if len(s) > maxDecimalLen {
			// A megabyte of digits costs seconds to parse and then
			// as much in every later operation.
			return nil, &hookError{value: s[:maxDecimalLen] + "…", want: wantDecimal}
		}
		d, err := decimal.NewFromString(s)
		// A huge exponent (1e999999999) would make every later
		// operation allocate without bound.
		if err != nil || d.Exponent() < -maxExponent || d.Exponent() > maxExponent {
			return nil, &hookError{value: v, want: wantDecimal}
		}
		return d, nil
	case int:
		return decimal.NewFromInt(int64(v)), nil
	case int64:
		return decimal.NewFromInt(v), nil
	case uint64:
		return decimal.NewFromUint64(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &hookError{value: fmt.Sprint(v), want: wantDecimal}
		}
		return decimal.RequireFromString(strconv.FormatFloat(v, 'f', -1, 64)), nil
	default:
		return nil, &hookError{value: fmt.Sprint(data), want: wantDecimal}
	}
}

func addressHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != addressType {
		return data, nil
	}
	switch v := data.(type) {
	case common.Address:
		return v, nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return common.Address{}, nil // absent; validation decides whether that is allowed
		}
		return parseAddress(s)
	default:
		return nil, &hookError{value: fmt.Sprint(data), want: wantAddress}
	}
}

// addressListHook reads a list of addresses given as one string, as an
// environment override does: POLYBOT_CHAIN_EXCHANGES="0xA,0xB" (commas or
// spaces between the addresses).
func addressListHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if to != addressList || !ok {
		return data, nil
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	out := make([]any, len(fields))
	for i, f := range fields {
		out[i] = f
	}
	return out, nil
}

// parseAddress accepts 0x + 40 hex digits. Mixed case must be a valid
// EIP-55 checksum, which catches most typos.
func parseAddress(s string) (common.Address, error) {
	if len(s) != 42 || !strings.HasPrefix(s, "0x") || !common.IsHexAddress(s) {
		return common.Address{}, &hookError{value: s, want: wantAddress}
	}
	a := common.HexToAddress(s)
	body := s[2:]
	if body != strings.ToLower(body) && body != strings.ToUpper(body) && a.Hex() != s {
		return common.Address{}, &hookError{value: s, want: "a 0x-prefixed 20-byte hex address whose mixed case matches its EIP-55 checksum (" + a.Hex() + ")"}
	}
	return a, nil
}

// decodeProblems turns mapstructure's joined errors into Problems, one per
// failing key.
func decodeProblems(err error) []Problem {
	var out []Problem
	var walk func(err error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *mapstructure.DecodeError:
			inner := e.Unwrap()
			var nested *mapstructure.DecodeError
			if errors.As(inner, &nested) {
				walk(inner)
				return
			}
			out = append(out, problemFor(e.Name(), inner))
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			// viper wraps mapstructure's errors in a summary sentence.
			var de *mapstructure.DecodeError
			if errors.As(err, &de) {
				walk(e.Unwrap())
				return
			}
			out = append(out, Problem{Want: err.Error()})
		default:
			out = append(out, Problem{Want: err.Error()})
		}
	}
	walk(err)
	return out
}

func problemFor(key string, err error) Problem {
	var he *hookError
	if errors.As(err, &he) {
		return Problem{Key: key, Value: he.value, Want: he.want}
	}
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return Problem{Key: key, Value: fmt.Sprint(pe.Value), Want: wantType(pe.Expected.Type())}
	}
	var ue *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ue) {
		return Problem{Key: key, Value: fmt.Sprint(ue.Value), Want: wantType(ue.Expected.Type())}
	}
	return Problem{Key: key, Want: err.Error()}
}

// unknownKeys reports keys in raw that t (a struct with mapstructure tags)
// does not have, recursing into nested sections and lists of structs.
func unknownKeys(raw map[string]any, t reflect.Type, prefix string) []Problem {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := f.Tag.Get("mapstructure"); tag != "" {
			fields[tag] = f.Type
		}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	var out []Problem
	for _, k := range keys {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		ft, ok := fields[strings.ToLower(k)]
		if !ok {
			out = append(out, Problem{Key: key, Value: showValue(raw[k]), Want: unknownWant(k, sortedKeys(fields))})
			continue
		}
		switch v := raw[k].(type) {
		case map[string]any:
			if isSection(ft) {
				out = append(out, unknownKeys(v, ft, key)...)
			}
		case []any:
			if ft.Kind() == reflect.Slice && isSection(ft.Elem()) {
				for i, e := range v {
					if m, ok := e.(map[string]any); ok {
						out = append(out, unknownKeys(m, ft.Elem(), fmt.Sprintf("%s[%d]", key, i))...)
					}
				}
			}
		}
	}
	return out
}

func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t != decimalType
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// showValue renders a value for a Problem without printing what may be a
// credential: URLs are redacted, sections and lists summarised.
func showValue(v any) string {
	switch t := v.(type) {
	case map[string]any:
		return "{...}"
	case []any:
		return "[...]"
	case string:
		if strings.Contains(t, "://") {
			return redactURL(t)
		}
		return t
	default:
		return fmt.Sprint(v)
	}
}

func wantType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a section of keys"
	default:
		return "a value of type " + t.String()
	}
}
