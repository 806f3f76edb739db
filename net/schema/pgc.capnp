# The pgc wire format: every frame on a PS <-> worker connection is one Envelope.
# Rules (STYLE.md item 11): the file id never changes, ordinals are only ever appended, a field
# is never renamed to mean something else. Bump protocolVersion when old peers cannot cope.
@0xdef8fac26ee500b2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("pgc::net::wire");

# Sent in Hello; the PS refuses a worker that speaks another version.
const protocolVersion :UInt32 = 1;

# Which protocol the cluster runs (DESIGN.md section 1); the first five coding::scheme_kind values
# in their order. Welcome.schemeName names every scheme, these included.
enum Scheme {
  proposed @0;              # Ramamoorthy, Meng, Girimaji: partial work counts
  original @1;              # gradient coding of Tandon et al. / Ye and Abbe for ell > 1
  fractionalRepetition @2;  # groups of load workers holding the same chunks
  ignoreStragglers @3;      # one chunk per worker, the PS rescales the first replies
  uncoded @4;               # wait for all
}

# When the PS signals EncodeAndTransmit.
enum Mode {
  exact @0;        # as soon as every chunk has ell copies
  approximate @1;  # at the deadline, or earlier when exact decoding is possible
}

# How workers put their coded vectors on the wire (Welcome.wirePrecision). The PS decodes in
# double either way; float32 halves the bytes for a relative error of about 2^-24 per entry.
enum Precision {
  float64 @0;  # Encoded.payload
  float32 @1;  # Encoded.payload32, each entry rounded to nearest
}

# Worker -> PS, first message on a connection.
struct Hello {
  protocolVersion @0 :UInt32;  # the worker's wire version (protocolVersion above)
  workerName @1 :Text;         # stable name across reconnects, e.g. "host-3"; for logs and dedup
  nonce @2 :Data;              # with a shared secret: 32 fresh random bytes of the worker
  mac @3 :Data;                # HMAC-SHA256(secret, "pgc hello" | Challenge.nonce | nonce | name)
  preferredId @4 :Int32 = -1;  # the worker id it asks for (e.g. its place in a launcher's
                               # straggler profile); granted when free, -1: any
  workload @5 :List(WorkloadField);  # what the worker's data is (kind, sizes, seeds, digests);
                                     # a PS with other data refuses it naming the field. Empty:
                                     # not checked (an embedder that declares none)
}

# One field of a workload fingerprint, named as the command-line flag that sets it.
struct WorkloadField {
  name @0 :Text;   # e.g. "--data-seed"
  value @1 :Text;  # e.g. "1"
}

# With a shared secret, the PS's first message on every connection; the worker answers with an
# authenticated Hello (net/include/pgc/net/auth.hpp).
struct Challenge {
  nonce @0 :Data;  # 32 fresh random bytes of the PS
}

# PS -> worker, answer to Hello: everything the worker needs to encode on its own.
struct Welcome {
  workerId @0 :UInt32;              # i, this worker's index in 0..workers-1
  workers @1 :UInt32;               # N
  chunks @2 :UInt32;                # m, number of data chunks
  ell @3 :UInt32;                   # communication factor, 1 <= ell <= N
  dimension @4 :UInt64;             # d, length of the model and of every gradient
  chunkOrder @5 :List(UInt32);      # no longer written or read: it repeated assignment[workerId]
                                    # (ordinals are never reused)
  r @6 :List(Float64);              # R, ell x N, row-major; the decoding matrix of the proposed
                                    # scheme, from which the worker derives its coefficients
  scheme @7 :Scheme;                # protocol the cluster runs
  mode @8 :Mode;                    # exact or approximate signalling
  heartbeatIntervalMs @9 :UInt32;   # how often the worker sends Heartbeat (from Welcome on, this
                                    # and not its own setting); both ends drop a peer silent for
                                    # heartbeatMisses intervals
  deadlineMs @10 :UInt32;           # approximate mode: T after StartIteration (0 in exact mode);
                                    # informational, the PS enforces it
  assignment @11 :List(List(UInt32));  # L_0..L_{N-1}, every worker's ordered list: S_j(s) needs
                                       # them all; assignment[workerId] is this worker's list
  load @12 :UInt32;                 # delta, chunks per worker (original scheme's construction)
  seed @13 :UInt64;                 # seed of the random parts of the code (original scheme's H)
  mac @14 :Data;                    # with a shared secret: HMAC-SHA256(secret, "pgc welcome" |
                                    # Hello.nonce | Challenge.nonce | workerId as 4 bytes LE)
  wirePrecision @15 :Precision;     # how this worker sends Encoded payloads; older workers
                                    # ignore it and send float64, which the PS always accepts
  sharedMemory @16 :SharedMemoryOffer;  # set when the PS accepts coded vectors through shared
                                        # memory from workers on its host; absent otherwise
  heartbeatMisses @17 :UInt32;      # silent heartbeat intervals after which a peer is lost (0
                                    # from an older PS: the worker keeps its own)
  schemeName @18 :Text;             # the scheme's one spelling (coding's name table: "proposed",
                                    # "frc", ...); read instead of `scheme` when set, so a scheme
                                    # added later needs no enumerant here
}

# In Welcome: where a worker on the PS's host hands over its shared-memory region
# (net/shared_memory.hpp). A worker that cannot reach the socket (another host or network
# namespace) or does not want to keeps sending its bytes over the connection.
struct SharedMemoryOffer {
  socket @0 :Text;  # the PS's abstract Unix socket, without the leading NUL
  token @1 :Data;   # 16 random bytes naming this connection to that socket
}

# PS -> workers: compute the gradients of your chunks at this model.
struct StartIteration {
  iteration @0 :UInt64;       # increases by one per optimizer step
  model @1 :List(Float64);    # the d model parameters
}

# Worker -> PS, after each chunk: the worker's entry of the state vector.
struct Progress {
  iteration @0 :UInt64;   # the iteration the count belongs to
  chunksDone @1 :UInt32;  # s_i, a prefix of L_i
}

# PS -> workers: encode the chunks within this state vector and send the result.
struct EncodeAndTransmit {
  iteration @0 :UInt64;       # the iteration this signal belongs to
  epoch @1 :UInt32;           # 0 first, +1 each time the PS re-signals after losing a worker
  state @2 :List(UInt32);     # s_0..s_{N-1}; a dropped worker counts 0
}

# Worker -> PS: the coded vector y_i for (iteration, epoch).
struct Encoded {
  iteration @0 :UInt64;       # echoes EncodeAndTransmit.iteration
  epoch @1 :UInt32;           # echoes EncodeAndTransmit.epoch; older epochs are dropped
  payload @2 :List(Float64);  # y_i, one block of length ceil(d / ell)
  payload32 @3 :List(Float32);  # instead of payload when Welcome.wirePrecision = float32
}

# Either direction: "still alive" when nothing else is sent. Fields may be appended.
struct Heartbeat {
}

# Either direction: the sender is leaving in an orderly way.
struct Shutdown {
  reason @0 :Text;  # for humans, e.g. "training finished"
}

# Either direction: the sender rejects something and will usually close the connection.
struct Error {
  code @0 :UInt32;  # a pgc::core::errc value
  text @1 :Text;    # for humans: what was wrong
}

struct Envelope {
  union {
    hello @0 :Hello;
    welcome @1 :Welcome;
    startIteration @2 :StartIteration;
    progress @3 :Progress;
    encodeAndTransmit @4 :EncodeAndTransmit;
    encoded @5 :Encoded;
    heartbeat @6 :Heartbeat;
    shutdown @7 :Shutdown;
    error @8 :Error;
    challenge @9 :Challenge;
    shared @10 :SharedFrame;
  }
}

# Worker -> PS, only after the PS took the worker's region (SharedMemoryOffer): a message that
# the worker built in that region, in place of its bytes. The PS reads it where it is and marks
# the slot free when done with it. The channel resolves it; nodes never see this kind.
struct SharedFrame {
  slot @0 :UInt32;   # the slot of the worker's region that holds the message
  words @1 :UInt32;  # the message: one segment of this many words at the start of the slot
}
