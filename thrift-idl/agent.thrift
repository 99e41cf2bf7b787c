// The Jaeger agent's UDP endpoint: one oneway emitBatch call per datagram.

include "jaeger.thrift"

namespace rs agent

service Agent {
  oneway void emitBatch(1: jaeger.Batch batch)
}
