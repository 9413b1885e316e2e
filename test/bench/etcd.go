package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// etcdPut is one key to write.
type etcdPut struct {
	key   string
	value []byte
}

// etcdTxn writes puts in one transaction through etcd's JSON gateway
// (/v3/kv/txn, on by default on the client URL): no etcd client library,
// whose versions would have to agree with the Kubernetes ones, for a
// handful of bulk writes.
func etcdTxn(ctx context.Context, client *http.Client, etcdURL string, puts []etcdPut) error {
	type put struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	type op struct {
		RequestPut put `json:"request_put"`
	}
	var req struct {
		Success []op `json:"success"`
	}
	for _, p := range puts {
		req.Success = append(req.Success, op{put{
			Key:   base64.StdEncoding.EncodeToString([]byte(p.key)),
			Value: base64.StdEncoding.EncodeToString(p.value),
		}})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, etcdURL+"/v3/kv/txn", bytes.NewReader(body))
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
		return fmt.Errorf("etcd txn: %s: %s", resp.Status, out)
	}
	var res struct {
		Succeeded bool `json:"succeeded"`
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.Succeeded {
		return fmt.Errorf("etcd txn did not succeed: %s", out)
	}
	return nil
}
