package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/driver/maas"
	"github.com/drydock-go/drydock/internal/driver/oob"
	"github.com/drydock-go/drydock/internal/tlsconf"
)

// EnvMAASAPIKey is read for the MAAS API key when the configuration names none (the original's
// MAAS_API_KEY).
const EnvMAASAPIKey = "MAAS_API_KEY"

// MAASDriver builds the MAAS node driver from the configuration (drivers.node: maas).
func MAASDriver(cfg config.MAAS, log *slog.Logger) (*maas.Driver, error) {
	mc := maas.Config{URL: cfg.URL, APIKey: oob.NewSecret(cfg.APIKey), APIKeyFile: cfg.APIKeyFile, APIKeyEnv: cfg.APIKeyEnv,
		PollInterval: cfg.PollInterval.D(), Timeout: cfg.RequestTimeout.D(), Attempts: cfg.Attempts,
		MaxConcurrent: cfg.MaxConcurrent, UseNodeOOBParams: cfg.UseNodeOOBParams, SkipBMCConfig: cfg.SkipBMCConfig,
		Erase: cfg.Erase, DeleteOnDestroy: cfg.DeleteOnDestroy, Logger: log}
	if cfg.APIKey == "" && cfg.APIKeyFile == "" && cfg.APIKeyEnv == "" {
		if _, ok := os.LookupEnv(EnvMAASAPIKey); ok {
			mc.APIKeyEnv = EnvMAASAPIKey
		}
	}
	if cfg.CAFile != "" || cfg.Insecure {
		tc, err := tlsconf.Client(cfg.CAFile, cfg.Insecure)
		if err != nil {
			return nil, fmt.Errorf("maas: %w", err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		mc.HTTPClient = &http.Client{Transport: tr}
	}
	d, err := maas.New(mc)
	if err != nil {
		return nil, err
	}
	return d, nil
}
