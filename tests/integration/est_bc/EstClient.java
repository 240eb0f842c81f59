// An EST (RFC 7030) client built on Bouncy Castle's own EST API (org.bouncycastle.est,
// Debian's libbcpkix-java), used by tests/integration/est_bc_test.py to show that a
// third-party EST client enrolls and re-enrolls against Rampart's EST server.
//
//   java -cp <bc jars>:<dir> EstClient <command> --server HOST:PORT --trust CA.pem [options]
//
// Commands:
//   cacerts   --out FILE                     GET /cacerts (RFC 7030 4.1), writes the certificates (PEM)
//   enroll    --cn NAME [--csr-email ADDR]   POST /simpleenroll (4.2.1) with HTTP Basic: the user and
//             --out-cert FILE --out-key FILE password come from $EST_USER and $EST_PASSWORD; Bouncy
//             [--basic-preemptive]           Castle's challenge-driven Basic unless --basic-preemptive
//   reenroll  (--cert FILE --key FILE [--chain FILE] | --p12 FILE)    POST /simplereenroll (4.2.2),
//             --out-cert FILE --out-key FILE  authenticated by the TLS client certificate only
//             [--keep-key] [--cn NAME]        (PKCS#12 password from $EST_P12_PASSWORD)
// Common: --label TEMPLATE (the /.well-known/est/<label>/ segment, RFC 7030 3.2.2),
//         --timeout MS (default 30000).
//
// The key pair is made here (EC P-256) and never leaves the process except into --out-key (0600).
// The server certificate is checked against --trust alone (no system roots) and the host name
// against its SAN. Every failure exits non-zero with one "error: ..." line on stderr; a 202
// answer (pending approval, RFC 7030 4.2.3) exits 3.

import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import javax.security.auth.x500.X500Principal;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.ESTAuth;
import org.bouncycastle.est.ESTException;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.jcajce.JcaHttpAuthBuilder;
import org.bouncycastle.est.jcajce.JsseDefaultHostnameAuthorizer;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.util.io.pem.PemObject;

public final class EstClient {
    static final int EXIT_FAIL = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_PENDING = 3;
    static final int MAX_BODY_SHOWN = 600;

    /** A failure with a message meant for the user; main prints it and exits. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final int code;

        Failure(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    public static void main(String[] argv) {
        try {
            run(argv);
            System.exit(0);
        } catch (Failure f) {
            System.err.println("error: " + f.getMessage());
            System.exit(f.code);
        } catch (ESTException e) {
            System.err.println("error: EST request failed: " + describe(e));
            System.exit(EXIT_FAIL);
        } catch (Exception e) {
            System.err.println("error: " + e.getClass().getSimpleName() + ": " + e.getMessage()
                + causeChain(e));
            System.exit(EXIT_FAIL);
        }
    }

    static void run(String[] argv) throws Exception {
        if (argv.length < 1) {
            throw usage("no command");
        }
        String command = argv[0];
        Map<String, String> opts = parseOptions(Arrays.copyOfRange(argv, 1, argv.length));
        switch (command) {
            case "cacerts":
                cacerts(opts);
                break;
            case "enroll":
                enroll(opts, false);
                break;
            case "reenroll":
                enroll(opts, true);
                break;
            default:
                throw usage("unknown command '" + command + "'");
        }
    }

    static Failure usage(String why) {
        return new Failure(EXIT_USAGE, why + "\nusage: EstClient cacerts|enroll|reenroll --server HOST:PORT"
            + " --trust CA.pem [--label L] [--timeout MS] ...\n"
            + "  cacerts  --out FILE\n"
            + "  enroll   --cn NAME [--csr-email ADDR] [--basic-preemptive] --out-cert FILE --out-key FILE"
            + " (EST_USER, EST_PASSWORD in the environment)\n"
            + "  reenroll (--cert FILE --key FILE [--chain FILE] | --p12 FILE) --out-cert FILE --out-key FILE"
            + " [--keep-key] [--cn NAME] (EST_P12_PASSWORD for --p12)");
    }

    static final List<String> FLAGS = Arrays.asList("--keep-key", "--basic-preemptive");
    static final List<String> VALUED = Arrays.asList("--server", "--trust", "--label", "--timeout", "--out",
        "--cn", "--csr-email", "--out-cert", "--out-key", "--cert", "--key", "--chain", "--p12");

    static Map<String, String> parseOptions(String[] args) throws Failure {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (FLAGS.contains(a)) {
                opts.put(a, "");
            } else if (VALUED.contains(a)) {
                if (i + 1 >= args.length || args[i + 1].isEmpty()) {
                    throw usage(a + " needs a value");
                }
                if (opts.put(a, args[++i]) != null) {
                    throw usage(a + " given twice");
                }
            } else {
                throw usage("unknown option '" + a + "'");
            }
        }
        return opts;
    }

    static String need(Map<String, String> opts, String name) throws Failure {
        String v = opts.get(name);
        if (v == null) {
            throw usage("missing " + name);
        }
        return v;
    }

    static String env(String name) throws Failure {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            throw new Failure(EXIT_USAGE, "$" + name + " is not set");
        }
        return v;
    }

    // ---------------------------------------------------------------- the EST service

    /** The service for --server/--label, trusting only --trust, with an optional TLS client key. */
    static ESTService service(Map<String, String> opts, KeyManager[] clientKeys) throws Exception {
        String server = need(opts, "--server");
        if (server.contains("/")) {
            throw usage("--server is HOST:PORT (Bouncy Castle adds https:// and /.well-known/est)");
        }
        X509TrustManager trust = trustOnly(need(opts, "--trust"));
        int timeout;
        try {
            timeout = Integer.parseInt(opts.getOrDefault("--timeout", "30000"));
        } catch (NumberFormatException e) {
            throw usage("--timeout is a number of milliseconds");
        }
        JsseESTServiceBuilder builder = new JsseESTServiceBuilder(server, trust);
        // Host name against the server certificate's SAN (CN only when there is no SAN); no
        // public-suffix list: the wildcard rules are the plain ones.
        builder.withHostNameAuthorizer(new JsseDefaultHostnameAuthorizer(Collections.<String>emptySet()));
        builder.withTimeout(timeout);
        builder.withReadLimit(1 << 20); // bounds what a broken server can make us read
        if (clientKeys != null) {
            builder.withKeyManagers(clientKeys);
        }
        if (opts.containsKey("--label")) {
            builder.withLabel(opts.get("--label"));
        }
        return builder.build();
    }

    /** A trust manager whose only anchors are the certificates in the PEM file. */
    static X509TrustManager trustOnly(String pemFile) throws Exception {
        List<X509Certificate> anchors = readCertificates(pemFile);
        if (anchors.isEmpty()) {
            throw new Failure(EXIT_FAIL, "no certificate in " + pemFile);
        }
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        for (int i = 0; i < anchors.size(); i++) {
            ks.setCertificateEntry("anchor-" + i, anchors.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager) {
                return (X509TrustManager) tm;
            }
        }
        throw new Failure(EXIT_FAIL, "the JDK offers no X509TrustManager");
    }

    // ---------------------------------------------------------------- commands

    static void cacerts(Map<String, String> opts) throws Exception {
        String out = need(opts, "--out");
        CACertsResponse resp = service(opts, null).getCACerts();
        if (!resp.hasCertificates()) {
            throw new Failure(EXIT_FAIL, "/cacerts answered without certificates (RFC 7030 4.1.3 wants"
                + " a certs-only CMS with a Content-Length)");
        }
        X509CertificateHolder[] certs = ESTService.storeToArray(resp.getCertificateStore());
        StringWriter pem = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
            for (X509CertificateHolder c : certs) {
                w.writeObject(c);
            }
        }
        writeFile(out, pem.toString(), false);
        System.out.println("cacerts: " + certs.length + " certificate(s), trusted TLS=" + resp.isTrusted());
        for (X509CertificateHolder c : certs) {
            System.out.println("  subject=" + c.getSubject() + " issuer=" + c.getIssuer());
        }
    }

    static void enroll(Map<String, String> opts, boolean reenroll) throws Exception {
        String outCert = need(opts, "--out-cert");
        String outKey = need(opts, "--out-key");

        ESTAuth auth = null;
        KeyManager[] clientKeys = null;
        X509Certificate current = null;
        PrivateKey currentKey = null;
        if (reenroll) {
            // RFC 7030 3.3.2 / 4.2.2: the client authenticates with its current certificate in TLS.
            KeyStore ks;
            char[] ksPassword;
            if (opts.containsKey("--p12")) {
                if (opts.containsKey("--cert") || opts.containsKey("--key")) {
                    throw usage("--p12 or --cert/--key, not both");
                }
                ksPassword = env("EST_P12_PASSWORD").toCharArray();
                ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = new FileInputStream(opts.get("--p12"))) {
                    ks.load(in, ksPassword);
                }
            } else {
                ksPassword = "in-memory".toCharArray();
                ks = pemKeyStore(need(opts, "--cert"), need(opts, "--key"), opts.get("--chain"), ksPassword);
            }
            String alias = keyAlias(ks);
            current = (X509Certificate) ks.getCertificate(alias);
            currentKey = (PrivateKey) ks.getKey(alias, ksPassword);
            if (current == null || currentKey == null) {
                throw new Failure(EXIT_FAIL, "no certificate with its private key in the client key store");
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, ksPassword);
            clientKeys = kmf.getKeyManagers();
        } else {
            String user = env("EST_USER");
            char[] password = env("EST_PASSWORD").toCharArray();
            if (opts.containsKey("--basic-preemptive")) {
                // Our own ESTAuth: the Authorization header on the first request (RFC 7617 2
                // allows it), for telling a challenge problem from an enrollment one.
                if (user.indexOf(':') >= 0) {
                    throw usage("$EST_USER must not contain ':' (RFC 7617 2)");
                }
                String token = Base64.getEncoder().encodeToString(
                    (user + ":" + new String(password)).getBytes(StandardCharsets.UTF_8));
                auth = req -> req.setHeader("Authorization", "Basic " + token);
            } else {
                // Bouncy Castle's stock Basic: the request goes out without credentials, and on
                // the server's 401 with WWW-Authenticate: Basic it is sent again with them.
                // (BC 1.72 closes that 401 unread and fails when it had a body of 2 bytes or
                // more: "Stream closed before limit fully read".)
                auth = new JcaHttpAuthBuilder(user, password).build();
            }
        }

        // The key pair: a fresh P-256 one, or the current one for a renewal without rekey.
        KeyPair keys;
        if (reenroll && opts.containsKey("--keep-key")) {
            keys = new KeyPair(current.getPublicKey(), currentKey);
        } else {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            keys = g.generateKeyPair();
        }

        // Subject: for re-enrollment the current one (RFC 7030 4.2.2 says the CSR's Subject and
        // SubjectAltName must be the same as the current certificate's); else the --cn asked for.
        X500Principal subject;
        if (opts.containsKey("--cn")) {
            // One CN attribute holding the text as given (no DN string parsing of it).
            X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, opts.get("--cn")).build();
            subject = new X500Principal(name.getEncoded());
        } else if (reenroll) {
            subject = current.getSubjectX500Principal();
        } else {
            throw usage("enroll needs --cn");
        }
        JcaPKCS10CertificationRequestBuilder csr = new JcaPKCS10CertificationRequestBuilder(subject, keys.getPublic());
        if (opts.containsKey("--csr-email")) {
            // A requested SAN (PKCS#9 extensionRequest, RFC 2986 / RFC 2985 5.4.2) the server's
            // template decides about: Rampart builds the SAN from the directory instead.
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.rfc822Name, opts.get("--csr-email"))));
            csr.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
        }
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
        PKCS10CertificationRequest request = csr.build(signer);

        ESTService est = service(opts, clientKeys);
        EnrollmentResponse resp = est.simpleEnroll(reenroll, request, auth);
        if (!resp.isCompleted()) {
            long wait = Math.max(0, (resp.getNotBefore() - System.currentTimeMillis()) / 1000);
            throw new Failure(EXIT_PENDING, "pending: the server accepted the request for approval (202),"
                + " retry after about " + wait + " s");
        }
        X509CertificateHolder[] got = ESTService.storeToArray(resp.getStore());
        if (got.length == 0) {
            throw new Failure(EXIT_FAIL, "the enrollment answer holds no certificate");
        }
        // RFC 7030 4.2.3: the answer carries "only the certificate that was issued"; pick it by its
        // public key anyway so a server that adds the chain still works.
        X509Certificate issued = null;
        JcaX509CertificateConverter conv = new JcaX509CertificateConverter();
        for (X509CertificateHolder h : got) {
            X509Certificate c = conv.getCertificate(h);
            if (Arrays.equals(c.getPublicKey().getEncoded(), keys.getPublic().getEncoded())) {
                issued = c;
                break;
            }
        }
        if (issued == null) {
            throw new Failure(EXIT_FAIL, "no certificate in the answer carries the public key of our CSR ("
                + got.length + " certificate(s))");
        }
        issued.checkValidity();

        StringWriter certPem = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(certPem)) {
            w.writeObject(issued);
        }
        StringWriter keyPem = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(keyPem)) {
            // PKCS#8 "PRIVATE KEY" (RFC 5958), what the JDK encodes; openssl and Rampart read it.
            w.writeObject(new PemObject("PRIVATE KEY", keys.getPrivate().getEncoded()));
        }
        writeFile(outKey, keyPem.toString(), true);
        writeFile(outCert, certPem.toString(), false);
        System.out.println((reenroll ? "reenroll" : "enroll") + ": issued");
        System.out.println("  subject=" + issued.getSubjectX500Principal().getName(X500Principal.RFC2253));
        System.out.println("  issuer=" + issued.getIssuerX500Principal().getName(X500Principal.RFC2253));
        System.out.println("  serial=" + hex(issued.getSerialNumber()));
        System.out.println("  notAfter=" + issued.getNotAfter().toInstant());
    }

    // ---------------------------------------------------------------- files and keys

    /** A PKCS#12 key store in memory holding the PEM key with its certificate (and chain). */
    static KeyStore pemKeyStore(String certFile, String keyFile, String chainFile, char[] password) throws Exception {
        List<X509Certificate> chain = new ArrayList<>(readCertificates(certFile));
        if (chain.isEmpty()) {
            throw new Failure(EXIT_FAIL, "no certificate in " + certFile);
        }
        if (chainFile != null) {
            // The CA certificates after the leaf, so the JDK offers it when the server names them
            // in its CertificateRequest (RFC 8446 4.3.2 certificate_authorities).
            for (X509Certificate c : readCertificates(chainFile)) {
                if (!c.equals(chain.get(0))) {
                    chain.add(c);
                }
            }
        }
        PrivateKey key = readPrivateKey(keyFile);
        if (!keyMatches(key, chain.get(0).getPublicKey())) {
            throw new Failure(EXIT_FAIL, keyFile + " is not the private key of " + certFile);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("client", key, password, chain.toArray(new Certificate[0]));
        return ks;
    }

    /** Whether the private key signs what the public key verifies (TLS would just be reset). */
    static boolean keyMatches(PrivateKey key, java.security.PublicKey pub) throws Exception {
        String alg = "EC".equals(pub.getAlgorithm()) ? "SHA256withECDSA" : "SHA256with" + pub.getAlgorithm();
        if (!key.getAlgorithm().equals(pub.getAlgorithm())) {
            return false;
        }
        byte[] probe = "rampart est_bc key check".getBytes(StandardCharsets.US_ASCII);
        java.security.Signature s = java.security.Signature.getInstance(alg);
        s.initSign(key);
        s.update(probe);
        byte[] sig = s.sign();
        java.security.Signature v = java.security.Signature.getInstance(alg);
        v.initVerify(pub);
        v.update(probe);
        return v.verify(sig);
    }

    static String keyAlias(KeyStore ks) throws Exception {
        for (Enumeration<String> e = ks.aliases(); e.hasMoreElements();) {
            String a = e.nextElement();
            if (ks.isKeyEntry(a)) {
                return a;
            }
        }
        throw new Failure(EXIT_FAIL, "the client key store holds no private key");
    }

    static List<X509Certificate> readCertificates(String file) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        try (InputStream in = new FileInputStream(file)) {
            Collection<? extends Certificate> all = cf.generateCertificates(in);
            for (Certificate c : all) {
                out.add((X509Certificate) c);
            }
        } catch (java.security.cert.CertificateException e) {
            throw new Failure(EXIT_FAIL, "cannot read certificates from " + file + ": " + e.getMessage());
        }
        return out;
    }

    static PrivateKey readPrivateKey(String file) throws Exception {
        Object o;
        try (PEMParser p = new PEMParser(new FileReader(file, StandardCharsets.US_ASCII))) {
            o = p.readObject();
        }
        JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
        if (o instanceof PEMKeyPair) {
            // "EC PRIVATE KEY" (RFC 5915), whose public key is optional
            return conv.getPrivateKey(((PEMKeyPair) o).getPrivateKeyInfo());
        }
        if (o instanceof PrivateKeyInfo) {
            return conv.getPrivateKey((PrivateKeyInfo) o); // "PRIVATE KEY" (PKCS#8)
        }
        throw new Failure(EXIT_FAIL, file + " holds no unencrypted private key");
    }

    /** Writes through a temporary file and a rename; a key file is 0600 from the start. */
    static void writeFile(String file, String text, boolean secret) throws IOException {
        Path target = Paths.get(file).toAbsolutePath();
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        if (secret) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } else {
            Files.createFile(tmp);
        }
        Files.write(tmp, text.getBytes(StandardCharsets.US_ASCII));
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    // ---------------------------------------------------------------- messages

    static String hex(BigInteger serial) {
        return serial.toString(16).toUpperCase();
    }

    /** The HTTP status and the start of the server's body, when Bouncy Castle kept them. */
    static String describe(ESTException e) {
        StringBuilder s = new StringBuilder(String.valueOf(e.getMessage()));
        if (e.getStatusCode() != 0) {
            s.append(" (HTTP ").append(e.getStatusCode()).append(')');
        }
        try {
            InputStream body = e.getBody();
            if (body != null) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                byte[] chunk = new byte[256];
                int n;
                while (buf.size() < MAX_BODY_SHOWN && (n = body.read(chunk)) > 0) {
                    buf.write(chunk, 0, n);
                }
                String text = new String(buf.toByteArray(), StandardCharsets.UTF_8).replaceAll("[\\r\\n]+", " ").trim();
                if (text.length() > MAX_BODY_SHOWN) {
                    text = text.substring(0, MAX_BODY_SHOWN) + "...";
                }
                if (!text.isEmpty()) {
                    s.append(": ").append(text);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // the body is a courtesy; the status is the message
        }
        return s.append(causeChain(e)).toString();
    }

    static String causeChain(Throwable e) {
        StringBuilder s = new StringBuilder();
        Throwable c = e.getCause();
        for (int depth = 0; c != null && c != e && depth < 4; depth++, e = c, c = c.getCause()) {
            s.append(" <- ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
        }
        return s.toString();
    }

    private EstClient() {
    }
}
