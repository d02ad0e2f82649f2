//! Moving bytes through a rustls connection, sans I/O: ciphertext in, plaintext out, and the
//! other way. The caller owns the buffers and the transport.

use super::error::{TLSError, TLSErrorKind};
use bytes::BytesMut;
use rustls::Connection;
use std::io::{Read, Write};

/// Append everything rustls has to send to `out`.
pub(super) fn take_tls_output(conn: &mut Connection, out: &mut Vec<u8>) {
    while conn.wants_write() {
        match conn.write_tls(out) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Encrypt as much of `data` as rustls takes, appending the records to `out`; returns how much
/// it took (all of it once the handshake is done, since its buffer is emptied as it goes).
pub(super) fn encrypt(conn: &mut Connection, data: &[u8], out: &mut Vec<u8>) -> usize {
    let mut taken = 0;
    while taken < data.len() {
        let n = conn.writer().write(&data[taken..]).unwrap_or(0);
        taken += n;
        let before = out.len();
        take_tls_output(conn, out);
        if n == 0 && out.len() == before {
            break;
        }
    }
    taken
}

/// What one chunk of ciphertext gave.
pub(super) struct Decrypted {
    /// The plaintext it carried.
    pub(super) plaintext: BytesMut,
    /// The peer sent `close_notify`.
    pub(super) peer_closed: bool,
}

/// Feed `data` to rustls in the pieces it takes (`read_tls`, `process_new_packets`), taking
/// the plaintext out after each so rustls' own buffer never fills. Errors name `peer_name`.
pub(super) fn decrypt(
    conn: &mut Connection,
    data: &[u8],
    peer_name: &str,
) -> Result<Decrypted, TLSError> {
    let mut plaintext = BytesMut::new();
    let mut offset = 0;
    while offset < data.len() {
        let mut cursor = &data[offset..];
        match conn.read_tls(&mut cursor) {
            Ok(0) => break,
            Ok(n) => offset += n,
            Err(e) => {
                return Err(TLSError::new(
                    peer_name,
                    TLSErrorKind::ProtocolError,
                    e.to_string(),
                ))
            }
        }
        let handshaking = conn.is_handshaking();
        let io_state = conn
            .process_new_packets()
            .map_err(|e| TLSError::from_rustls(peer_name, e, handshaking))?;
        read_plaintext(conn, io_state.plaintext_bytes_to_read(), &mut plaintext);
        if io_state.peer_has_closed() {
            return Ok(Decrypted {
                plaintext,
                peer_closed: true,
            });
        }
    }
    Ok(Decrypted {
        plaintext,
        peer_closed: false,
    })
}

/// Append the `available` bytes of plaintext rustls holds to `plaintext`.
fn read_plaintext(conn: &mut Connection, available: usize, plaintext: &mut BytesMut) {
    if available == 0 {
        return;
    }
    let start = plaintext.len();
    plaintext.resize(start + available, 0);
    let mut filled = start;
    while filled < plaintext.len() {
        match conn.reader().read(&mut plaintext[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    plaintext.truncate(filled);
}
