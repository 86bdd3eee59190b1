// Package hclfuncs holds the functions available in kongctl inventory
// expressions: env(), file() and friends, plus a curated part of the cty
// standard library (string, collection and conversion helpers).
//
// Paths given to the file functions resolve relative to the inventory
// file's directory, and a leading "~" expands to the user's home directory.
package hclfuncs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// MaxFileSize bounds what file() reads, so a typo such as file("/dev/zero")
// fails instead of exhausting memory.
const MaxFileSize = 4 << 20

// Options configures Functions. The zero value reads the process
// environment and resolves paths against the working directory.
type Options struct {
	// BaseDir is the directory relative paths resolve against (the
	// inventory file's directory).
	BaseDir string
	// LookupEnv looks up environment variables; nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// HomeDir returns the home directory for "~"; nil means os.UserHomeDir.
	HomeDir func() (string, error)
}

// Functions returns the function table for an hcl.EvalContext.
func Functions(opts Options) map[string]function.Function {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.HomeDir == nil {
		opts.HomeDir = os.UserHomeDir
	}
	fs := map[string]function.Function{
		// kongctl's own
		"env":        envFunc(opts),
		"file":       fileFunc(opts),
		"fileexists": fileExistsFunc(opts),
		"abspath":    absPathFunc(opts),
		"pathexpand": pathExpandFunc(opts),
		"basename":   pathFunc(filepath.Base),
		"dirname":    pathFunc(filepath.Dir),
		"startswith": prefixFunc(strings.HasPrefix),
		"endswith":   prefixFunc(strings.HasSuffix),
		"try":        tryfunc.TryFunc,
		"can":        tryfunc.CanFunc,

		// strings
		"lower":         stdlib.LowerFunc,
		"upper":         stdlib.UpperFunc,
		"title":         stdlib.TitleFunc,
		"format":        stdlib.FormatFunc,
		"formatlist":    stdlib.FormatListFunc,
		"join":          stdlib.JoinFunc,
		"split":         stdlib.SplitFunc,
		"trim":          stdlib.TrimFunc,
		"trimspace":     stdlib.TrimSpaceFunc,
		"trimprefix":    stdlib.TrimPrefixFunc,
		"trimsuffix":    stdlib.TrimSuffixFunc,
		"chomp":         stdlib.ChompFunc,
		"indent":        stdlib.IndentFunc,
		"replace":       stdlib.ReplaceFunc,
		"regex":         stdlib.RegexFunc,
		"regexall":      stdlib.RegexAllFunc,
		"regex_replace": stdlib.RegexReplaceFunc,
		"substr":        stdlib.SubstrFunc,
		"strlen":        stdlib.StrlenFunc,

		// collections
		"concat":   stdlib.ConcatFunc,
		"contains": stdlib.ContainsFunc,
		"distinct": stdlib.DistinctFunc,
		"flatten":  stdlib.FlattenFunc,
		"coalesce": stdlib.CoalesceFunc,
		"compact":  stdlib.CompactFunc,
		"element":  stdlib.ElementFunc,
		"keys":     stdlib.KeysFunc,
		"values":   stdlib.ValuesFunc,
		"lookup":   stdlib.LookupFunc,
		"merge":    stdlib.MergeFunc,
		"length":   stdlib.LengthFunc,
		"range":    stdlib.RangeFunc,
		"reverse":  stdlib.ReverseListFunc,
		"slice":    stdlib.SliceFunc,
		"sort":     stdlib.SortFunc,
		"zipmap":   stdlib.ZipmapFunc,
		"min":      stdlib.MinFunc,
		"max":      stdlib.MaxFunc,

		// conversions and encodings
		"tostring":   stdlib.MakeToFunc(cty.String),
		"tonumber":   stdlib.MakeToFunc(cty.Number),
		"tobool":     stdlib.MakeToFunc(cty.Bool),
		"tolist":     stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset":      stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"jsonencode": stdlib.JSONEncodeFunc,
		"jsondecode": stdlib.JSONDecodeFunc,
	}
	return fs
}

// Names returns the sorted names of the available functions, for
// documentation and "did you mean" suggestions.
func Names() []string {
	fs := Functions(Options{})
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ExpandPath expands a leading "~" and makes a relative path absolute
// against baseDir. An empty path stays empty.
func ExpandPath(p, baseDir string, home func() (string, error)) (string, error) {
	if p == "" {
		return "", nil
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home == nil {
			home = os.UserHomeDir
		}
		h, err := home()
		if err != nil {
			return "", fmt.Errorf("expand %q: %w", p, err)
		}
		p = filepath.Join(h, p[1:])
	} else if strings.HasPrefix(p, "~") {
		return "", fmt.Errorf("expand %q: only \"~\" and \"~/...\" are supported, not \"~user\"", p)
	}
	if !filepath.IsAbs(p) {
		if baseDir == "" {
			wd, err := os.Getwd()
			if err != nil {
				return "", fmt.Errorf("resolve %q: %w", p, err)
			}
			baseDir = wd
		}
		p = filepath.Join(baseDir, p)
	}
	return filepath.Clean(p), nil
}

func envFunc(opts Options) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the optional default (else \"\") when it is unset.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
			return b.NotNull()
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default")
			}
			if v, ok := opts.LookupEnv(args[0].AsString()); ok {
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.StringVal(""), nil
		},
	})
}

func fileFunc(opts Options) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a text file, relative to the inventory's directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := ExpandPath(args[0].AsString(), opts.BaseDir, opts.HomeDir)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			b, err := readFile(p)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

func readFile(p string) ([]byte, error) {
	// Stat before opening: opening a FIFO would block.
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", p, MaxFileSize)
	}
	return b, nil
}

func fileExistsFunc(opts Options) function.Function {
	return function.New(&function.Spec{
		Description: "Reports whether a regular file exists, relative to the inventory's directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := ExpandPath(args[0].AsString(), opts.BaseDir, opts.HomeDir)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			st, err := os.Stat(p)
			if err != nil {
				if os.IsNotExist(err) {
					return cty.False, nil
				}
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.BoolVal(st.Mode().IsRegular()), nil
		},
	})
}

func absPathFunc(opts Options) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the absolute, cleaned form of a path, relative to the inventory's directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			if !filepath.IsAbs(p) {
				base := opts.BaseDir
				if base == "" {
					base, _ = os.Getwd()
				}
				p = filepath.Join(base, p)
			}
			return cty.StringVal(filepath.Clean(p)), nil
		},
	})
}

func pathExpandFunc(opts Options) function.Function {
	return function.New(&function.Spec{
		Description: "Expands a leading ~ to the home directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			if p != "~" && !strings.HasPrefix(p, "~/") {
				return cty.StringVal(p), nil
			}
			h, err := opts.HomeDir()
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(filepath.Join(h, p[1:])), nil
		},
	})
}

func pathFunc(f func(string) string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(f(args[0].AsString())), nil
		},
	})
}

func prefixFunc(f func(s, p string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "affix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}
