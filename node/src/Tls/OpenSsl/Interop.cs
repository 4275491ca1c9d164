using System.Runtime.InteropServices;

namespace Tandem.Node.Tls.OpenSsl;

/// <summary>
/// The few functions of the system's OpenSSL 3 (<c>libssl.so.3</c> and <c>libcrypto.so.3</c>) that the TLS engine
/// calls. Names and constants follow OpenSSL's headers (<c>ssl.h</c>, <c>tls1.h</c>, <c>bio.h</c>, <c>params.h</c>).
/// </summary>
internal static unsafe partial class Interop
{
    private const string LibSsl = "libssl.so.3";
    private const string LibCrypto = "libcrypto.so.3";

    public const int SslFiletypePem = 1;
    public const int Tls12Version = 0x0303;
    public const int Tls13Version = 0x0304;

    // SSL_get_error results (ssl.h).
    public const int SslErrorNone = 0;
    public const int SslErrorSsl = 1;
    public const int SslErrorWantRead = 2;
    public const int SslErrorWantWrite = 3;
    public const int SslErrorSyscall = 5;
    public const int SslErrorZeroReturn = 6;

    // SSL_CTX_ctrl commands behind the SSL_CTX_set_min_proto_version and SSL_CTX_set_session_cache_mode macros.
    public const int SslCtrlSetSessionCacheMode = 44;
    public const int SslCtrlSetMinProtoVersion = 123;
    public const int SslSessionCacheOff = 0;

    public const ulong SslOpNoRenegotiation = 0x40000000;
    public const ulong SslOpCipherServerPreference = 0x00400000;

    // SSL_CTX_callback_ctrl and SSL_CTX_ctrl commands behind SSL_CTX_set_tlsext_servername_callback (tls1.h).
    public const int SslCtrlSetTlsextServernameCallback = 53;

    public const int SslTlsextErrOk = 0;
    public const int SslTlsextErrAlertFatal = 2;
    public const int SslAdInternalError = 80;
    public const int SslTlsextErrNoAck = 3;
    public const int OpenSslNpnNegotiated = 1;
    public const int TlsextNametypeHostName = 0;

    public const uint OsslParamUtf8String = 4;
    public const uint OsslParamOctetString = 5;

    /// <summary>The <c>OSSL_PARAM</c> structure of OpenSSL 3 (params.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct OsslParam
    {
        public byte* Key;
        public uint DataType;
        public void* Data;
        public nuint DataSize;
        public nuint ReturnSize;
    }

    [LibraryImport(LibSsl)]
    public static partial nint TLS_server_method();

    [LibraryImport(LibSsl)]
    public static partial nint SSL_CTX_new(nint method);

    [LibraryImport(LibSsl)]
    public static partial void SSL_CTX_free(nint context);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_CTX_ctrl(nint context, int command, nint larg, nint parg);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_CTX_callback_ctrl(nint context, int command, delegate* unmanaged<nint, int*, nint, int> callback);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_set_SSL_CTX(nint ssl, nint context);

    [LibraryImport(LibSsl)]
    public static partial ulong SSL_CTX_set_options(nint context, ulong options);

    [LibraryImport(LibSsl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_use_certificate_chain_file(nint context, string path);

    [LibraryImport(LibSsl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_use_PrivateKey_file(nint context, string path, int type);

    [LibraryImport(LibSsl)]
    public static partial int SSL_CTX_check_private_key(nint context);

    [LibraryImport(LibSsl)]
    public static partial int SSL_CTX_set_session_id_context(nint context, byte* sessionIdContext, uint length);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_CTX_set_timeout(nint context, nint seconds);

    [LibraryImport(LibSsl)]
    public static partial void SSL_CTX_set_alpn_select_cb(
        nint context,
        delegate* unmanaged<nint, byte**, byte*, byte*, uint, nint, int> callback,
        nint argument);

    [LibraryImport(LibSsl)]
    public static partial int SSL_CTX_set_tlsext_ticket_key_evp_cb(
        nint context,
        delegate* unmanaged<nint, byte*, byte*, nint, nint, int, int> callback);

    [LibraryImport(LibSsl)]
    public static partial int SSL_select_next_proto(
        byte** output,
        byte* outputLength,
        byte* server,
        uint serverLength,
        byte* client,
        uint clientLength);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_new(nint context);

    [LibraryImport(LibSsl)]
    public static partial void SSL_free(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial void SSL_set_bio(nint ssl, nint readBio, nint writeBio);

    [LibraryImport(LibSsl)]
    public static partial void SSL_set_accept_state(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_get_rbio(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_get_wbio(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial int SSL_do_handshake(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial int SSL_read(nint ssl, byte* buffer, int length);

    [LibraryImport(LibSsl)]
    public static partial int SSL_write(nint ssl, byte* buffer, int length);

    [LibraryImport(LibSsl)]
    public static partial int SSL_shutdown(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial int SSL_get_error(nint ssl, int result);

    [LibraryImport(LibSsl)]
    public static partial void SSL_get0_alpn_selected(nint ssl, byte** data, uint* length);

    [LibraryImport(LibSsl)]
    public static partial int SSL_session_reused(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial int SSL_version(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial byte* SSL_get_servername(nint ssl, int type);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_get_current_cipher(nint ssl);

    [LibraryImport(LibSsl)]
    public static partial ushort SSL_CIPHER_get_protocol_id(nint cipher);

    [LibraryImport(LibCrypto)]
    public static partial nint BIO_s_mem();

    [LibraryImport(LibCrypto)]
    public static partial nint BIO_new(nint type);

    [LibraryImport(LibCrypto)]
    public static partial int BIO_free(nint bio);

    [LibraryImport(LibCrypto)]
    public static partial int BIO_write(nint bio, byte* data, int length);

    [LibraryImport(LibCrypto)]
    public static partial int BIO_read(nint bio, byte* data, int length);

    [LibraryImport(LibCrypto)]
    public static partial nuint BIO_ctrl_pending(nint bio);

    [LibraryImport(LibCrypto)]
    public static partial void ERR_clear_error();

    [LibraryImport(LibCrypto)]
    public static partial ulong ERR_get_error();

    [LibraryImport(LibCrypto)]
    public static partial byte* ERR_reason_error_string(ulong error);

    [LibraryImport(LibCrypto)]
    public static partial int RAND_bytes(byte* buffer, int length);

    [LibraryImport(LibCrypto)]
    public static partial nint EVP_aes_256_cbc();

    [LibraryImport(LibCrypto)]
    public static partial int EVP_EncryptInit_ex(nint context, nint cipher, nint engine, byte* key, byte* iv);

    [LibraryImport(LibCrypto)]
    public static partial int EVP_DecryptInit_ex(nint context, nint cipher, nint engine, byte* key, byte* iv);

    [LibraryImport(LibCrypto)]
    public static partial int EVP_MAC_CTX_set_params(nint context, OsslParam* parameters);

    [LibraryImport(LibSsl)]
    public static partial nint SSL_get_SSL_CTX(nint ssl);

    /// <summary>
    /// Returns the reason of the oldest error in this thread's OpenSSL error queue, such as <c>wrong version
    /// number</c>, and clears the queue. Returns null when the queue is empty.
    /// </summary>
    public static string? TakeErrorReason()
    {
        var error = ERR_get_error();
        ERR_clear_error();
        if (error == 0)
        {
            return null;
        }

        var reason = ERR_reason_error_string(error);
        return reason is null ? $"error 0x{error:x}" : Marshal.PtrToStringUTF8((nint)reason);
    }
}
