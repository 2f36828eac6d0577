// Command etcd: etcd's own server entry point (go.etcd.io/etcd/server/v3/etcdmain), built from this wrapper
// module (see go.mod).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
