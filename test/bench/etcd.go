package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/clusterdns/clusterdns/test/cluster"
)

// etcdPut is one key to write.
type etcdPut struct {
	key   string
	value []byte
}

// etcdTxn writes puts in one transaction through etcd's JSON gateway
// (cluster.EtcdCall).
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
	var res struct {
		Succeeded bool `json:"succeeded"`
	}
	if err := cluster.EtcdCall(ctx, client, etcdURL, "/v3/kv/txn", req, &res); err != nil {
		return err
	}
	if !res.Succeeded {
		return fmt.Errorf("etcd txn did not succeed")
	}
	return nil
}
