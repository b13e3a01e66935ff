package app

import (
	"fmt"
	"os"
	"strings"

	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/kube"
)

// KubeDriver builds the configured Kubernetes driver (nil for none).
func KubeDriver(cfg config.Config) (driver.KubeDriver, error) {
	k := cfg.Kubernetes
	switch cfg.Drivers.Kubernetes {
	case "kube":
		d, err := kube.New(kube.Config{Kubeconfig: k.Kubeconfig, Context: k.Context, NodeWait: k.NodeWait.D(),
			PollInterval: k.PollInterval.D(), Attempts: k.Attempts, Backoff: k.Backoff.D(), RequestTimeout: k.RequestTimeout.D(),
			ForceConflicts: k.ForceConflicts, DesignLabels: k.DesignLabels, QPS: k.QPS, Burst: k.Burst})
		if err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
		return d, nil
	case "promenade":
		p, ks := k.Promenade, cfg.API.Keystone
		or := func(a, b string) string {
			if a != "" {
				return a
			}
			return b
		}
		pw, pwFile := p.Password, p.PasswordFile
		if pw == "" && pwFile == "" {
			pw, pwFile = ks.Password, ks.PasswordFile
		}
		if pw == "" && pwFile != "" {
			data, err := os.ReadFile(pwFile)
			if err != nil {
				return nil, fmt.Errorf("kubernetes.promenade.password_file: %w", err)
			}
			pw = strings.TrimSpace(string(data))
		}
		d, err := kube.NewPromenade(kube.PromenadeConfig{AuthURL: or(p.AuthURL, ks.AuthURL), Username: or(p.Username, ks.Username),
			Password: pw, UserDomainName: or(p.UserDomainName, ks.UserDomainName), ProjectID: p.ProjectID,
			ProjectName: or(p.ProjectName, ks.ProjectName), ProjectDomainName: or(p.ProjectDomainName, ks.ProjectDomainName),
			Region: p.Region, ServiceType: p.ServiceType, Interface: p.Interface, URL: p.URL, CAFile: or(p.CAFile, ks.CAFile),
			Insecure: p.Insecure || ks.Insecure, Attempts: k.Attempts, Backoff: k.Backoff.D(), RequestTimeout: k.RequestTimeout.D()})
		if err != nil {
			return nil, fmt.Errorf("kubernetes (promenade): %w", err)
		}
		return d, nil
	}
	return nil, nil
}
