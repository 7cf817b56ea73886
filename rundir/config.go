package rundir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteConfig writes v as indented JSON to dir/config.json, atomically.
func WriteConfig(dir string, v any) error {
	path := filepath.Join(dir, ConfigFile)
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return AtomicWriteFile(path, append(data, '\n'), 0o644)
}

// ReadConfig decodes dir/config.json into v.
func ReadConfig(dir string, v any) error {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
