//! Errors, grouped by what the caller can do about them.

use crate::data::DataError;
use crate::kv::StoreError;
use crate::mqtt::{
    ConnectReturnCode, DecodeError, EncodeError, PacketId, PacketType, QoS, TopicError,
};
use crate::provider::ProviderError;
#[cfg(feature = "registration")]
use crate::register::RegisterError;
use crate::session::SessionError;

/// What the caller can do about an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The settings or the arguments are wrong: fix them; retrying cannot help.
    Config,
    /// The cloud refused the credentials: do not retry quickly, it will refuse again.
    Auth,
    /// The network failed: retry with backoff.
    Transport,
    /// The peer broke the protocol: reconnect, and report it if it persists.
    Protocol,
    /// A buffer or the session memory is too small: wait for acknowledgements or give more
    /// memory.
    Resource,
    /// The operation does not fit the device's state (not connected, or not supported).
    State,
}

/// The broker broke MQTT 3.1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ProtocolError {
    /// Bytes that are not a valid packet.
    #[error("malformed packet: {0}")]
    Malformed(#[from] DecodeError),
    /// A packet a broker never sends to a client, or a CONNACK out of turn.
    #[error("unexpected {0:?} from the broker")]
    UnexpectedPacket(PacketType),
    /// An acknowledgement for a packet identifier that is not in flight (for example a
    /// second PUBACK for the same message). Not fatal: the session is unchanged.
    #[error("{packet_type:?} for packet identifier {packet_id}, which is not in flight")]
    UnknownPacketId {
        /// Type of the acknowledgement.
        packet_type: PacketType,
        /// Its identifier.
        packet_id: PacketId,
    },
    /// A SUBACK whose number of return codes differs from the SUBSCRIBE's filters. Not
    /// fatal: unanswered filters are asked again on the next connection.
    #[error("SUBACK with {got} return codes for {expected} filters")]
    SubackMismatch {
        /// Filters in the SUBSCRIBE.
        expected: usize,
        /// Return codes received.
        got: usize,
    },
    /// The peer answered the connection with something other than CONNACK.
    #[error("expected CONNACK, got {0:?}")]
    ExpectedConnack(PacketType),
}

impl ProtocolError {
    /// Whether the connection must be closed ([MQTT-4.8.0-1]). Unknown acknowledgements
    /// are reported but leave the connection up.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            ProtocolError::UnknownPacketId { .. } | ProtocolError::SubackMismatch { .. }
        )
    }
}

/// Every error the device can report, generic over the transport's error `E`.
///
/// Secrets never appear in the `Display` or `Debug` output of an error.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error<E> {
    /// A topic name or filter is invalid. Not retryable: fix the topic.
    #[error("invalid topic: {0}")]
    Topic(#[from] TopicError),
    /// The cloud does not accept this QoS. Not retryable.
    #[error("QoS {requested:?} is not supported here (highest: {max:?})")]
    QosNotSupported {
        /// QoS asked for.
        requested: QoS,
        /// Highest QoS the cloud accepts.
        max: QoS,
    },
    /// The payload is over the cloud's limit. Not retryable.
    #[error("payload of {len} bytes is over the limit of {max}")]
    PayloadTooLarge {
        /// Payload size.
        len: usize,
        /// The cloud's limit.
        max: usize,
    },
    /// `subscribe` or `unsubscribe` with no filter, or more than one call takes.
    #[error("between 1 and {max} topic filters per call")]
    TooManyFilters {
        /// Most filters per call.
        max: usize,
    },
    /// The provider could not produce credentials or an endpoint. Usually a configuration
    /// problem; see [`ProviderError`].
    #[error("provider: {0}")]
    Provider(#[from] ProviderError),
    /// The broker refused the connection. [`ConnectReturnCode::is_auth_failure`] tells
    /// whether the credentials were the problem (then do not retry quickly).
    #[error("connection refused: {0}")]
    Refused(ConnectReturnCode),
    /// The transport failed: DNS, TCP, TLS or an I/O error. Retry with backoff.
    #[error("transport: {0}")]
    Transport(E),
    /// The peer did not answer in time. Retry with backoff.
    #[error("timed out")]
    Timeout,
    /// The peer closed the connection. Retry with backoff.
    #[error("connection closed by the peer")]
    PeerClosed,
    /// The peer broke the protocol.
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// A packet does not fit its buffer (usually the transmit buffer). Nothing was sent.
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
    /// The session memory is full of in-flight messages and subscriptions. Process events
    /// (acknowledgements free memory) and try again.
    #[error("session memory full: {needed} bytes needed, {free} free")]
    SessionFull {
        /// Bytes needed.
        needed: usize,
        /// Bytes free.
        free: usize,
    },
    /// All packet identifiers are in flight.
    #[error("all packet identifiers are in use")]
    NoPacketIds,
    /// An incoming message did not fit the receive buffer. It was acknowledged to the broker
    /// and dropped; the connection stays up. Give the device a larger receive buffer.
    #[error("incoming packet of {len} bytes does not fit the {capacity}-byte receive buffer")]
    IncomingTooLarge {
        /// Size of the whole packet.
        len: usize,
        /// Size of the receive buffer.
        capacity: usize,
    },
    /// The connection is down; reconnect first.
    #[error("not connected")]
    NotConnected,
    /// The key-value store failed. After a registration whose result could not be stored,
    /// the device still holds the credentials (see `Device::registration_record`).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A data-model message could not be written: a part the cloud lacks, a value JSON
    /// cannot carry, a message larger than the memory to build it. Nothing was sent.
    #[error("data: {0}")]
    Data(#[from] DataError),
    /// Dynamic registration failed. (Only with the `registration` feature: a device built
    /// without it carries no registration error in every result.)
    #[cfg(feature = "registration")]
    #[error("registration: {0}")]
    Registration(RegisterError<E>),
}

impl<E> Error<E> {
    /// What the caller can do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Topic(_)
            | Error::QosNotSupported { .. }
            | Error::PayloadTooLarge { .. }
            | Error::TooManyFilters { .. } => ErrorKind::Config,
            Error::Provider(p) => p.kind(),
            Error::Refused(code) if code.is_auth_failure() => ErrorKind::Auth,
            Error::Refused(_) | Error::Transport(_) | Error::Timeout | Error::PeerClosed => {
                ErrorKind::Transport
            }
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::Encode(_)
            | Error::SessionFull { .. }
            | Error::NoPacketIds
            | Error::IncomingTooLarge { .. } => ErrorKind::Resource,
            Error::NotConnected | Error::Store(_) => ErrorKind::State,
            Error::Data(e) => e.kind(),
            #[cfg(feature = "registration")]
            Error::Registration(e) => match e {
                RegisterError::Provider(p) => p.kind(),
                RegisterError::Rejected { .. } | RegisterError::Refused(_) => ErrorKind::Auth,
                RegisterError::RecordTooLarge { .. } => ErrorKind::Resource,
                RegisterError::BadResponse(_) | RegisterError::Decrypt(_) => ErrorKind::Protocol,
                _ => ErrorKind::Transport,
            },
        }
    }

    /// Whether the same call may succeed later without changing anything (after a backoff,
    /// or once acknowledgements arrive).
    pub fn is_retryable(&self) -> bool {
        #[cfg(feature = "registration")]
        if let Error::Registration(e) = self {
            return e.is_retryable();
        }
        match self.kind() {
            ErrorKind::Transport | ErrorKind::Protocol => true,
            ErrorKind::Resource => matches!(self, Error::SessionFull { .. } | Error::NoPacketIds),
            ErrorKind::State => matches!(self, Error::NotConnected),
            _ => false,
        }
    }

    /// Replaces the transport error type, keeping everything else.
    pub fn map_transport<F>(self, f: impl FnOnce(E) -> F) -> Error<F> {
        match self {
            Error::Topic(e) => Error::Topic(e),
            Error::QosNotSupported { requested, max } => Error::QosNotSupported { requested, max },
            Error::PayloadTooLarge { len, max } => Error::PayloadTooLarge { len, max },
            Error::TooManyFilters { max } => Error::TooManyFilters { max },
            Error::Provider(e) => Error::Provider(e),
            Error::Refused(c) => Error::Refused(c),
            Error::Transport(e) => Error::Transport(f(e)),
            Error::Timeout => Error::Timeout,
            Error::PeerClosed => Error::PeerClosed,
            Error::Protocol(e) => Error::Protocol(e),
            Error::Encode(e) => Error::Encode(e),
            Error::SessionFull { needed, free } => Error::SessionFull { needed, free },
            Error::NoPacketIds => Error::NoPacketIds,
            Error::IncomingTooLarge { len, capacity } => Error::IncomingTooLarge { len, capacity },
            Error::NotConnected => Error::NotConnected,
            Error::Store(e) => Error::Store(e),
            Error::Data(e) => Error::Data(e),
            #[cfg(feature = "registration")]
            Error::Registration(e) => Error::Registration(e.map_transport(f)),
        }
    }
}

impl<E> From<SessionError> for Error<E> {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Encode(e) => Error::Encode(e),
            SessionError::Full { needed, free } => Error::SessionFull { needed, free },
            SessionError::NotConnected => Error::NotConnected,
            SessionError::NoPacketIds => Error::NoPacketIds,
            SessionError::Refused(c) => Error::Refused(c),
            SessionError::Protocol(p) => Error::Protocol(p),
        }
    }
}

impl<E> From<DecodeError> for Error<E> {
    fn from(e: DecodeError) -> Self {
        Error::Protocol(ProtocolError::Malformed(e))
    }
}
