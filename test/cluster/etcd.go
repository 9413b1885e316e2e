package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// EtcdCall posts req as JSON to path on etcd's JSON gateway (on by default
// on the client URL; []byte fields encode as base64, as the gateway wants)
// and decodes the answer into res: no etcd client library, whose versions
// would have to agree with the Kubernetes ones, for a handful of calls.
// The test bed's ExpireWatches and the bench's bulk pod writes use it.
func EtcdCall(ctx context.Context, client *http.Client, url, path string, req, res any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := client.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: %s: %s", path, resp.Status, out)
	}
	if err := json.Unmarshal(out, res); err != nil {
		return fmt.Errorf("etcd %s: %w: %s", path, err, out)
	}
	return nil
}
