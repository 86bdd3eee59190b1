package view

import (
	"encoding/json"
	"io"

	"github.com/kongctl/kongctl/controller"
)

// JSON writes v as one indented JSON document, HTML left unescaped.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// StatusJSON writes the fleet's state as JSON, with the schema version
// every JSON result carries.
func StatusJSON(w io.Writer, s *controller.StatusReport) error {
	return JSON(w, struct {
		Schema int `json:"schema"`
		*controller.StatusReport
	}{controller.JSONSchema, s})
}
