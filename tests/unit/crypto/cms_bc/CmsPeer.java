// Bouncy Castle as the S/MIME peer of crypto_cms_test (Debian's libbcpkix-java):
// AuthEnvelopedData with AES-GCM, RSAES-OAEP and ECDH (SHA-256 KDF) both ways.
//
//   encrypt <recipient.pem> <content file> <out.der>     GCM; OAEP for RSA, ECDH-SHA256 for EC
//   decrypt <key.pem (PKCS#8)> <cert.pem> <in.der> <out> any (Auth)EnvelopedData
//   verify  <in.der> <content out>                         opaque SignedData, signer cert inside
// Exit 0 on success; the reason on stderr otherwise.
import java.io.FileReader;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Security;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.Collection;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.operator.OutputAEADEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;
import org.bouncycastle.cms.*;
import org.bouncycastle.cms.jcajce.*;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.util.Store;

public class CmsPeer {
  static X509Certificate readCert(String path) throws Exception {
    try (PEMParser p = new PEMParser(new FileReader(path))) {
      return new JcaX509CertificateConverter().setProvider("BC").getCertificate((X509CertificateHolder) p.readObject());
    }
  }

  static PrivateKey readKey(String path) throws Exception {
    try (PEMParser p = new PEMParser(new FileReader(path))) {
      Object o = p.readObject();
      return new JcaPEMKeyConverter().setProvider("BC").getPrivateKey((PrivateKeyInfo) o);
    }
  }

  public static void main(String[] args) throws Exception {
    Security.addProvider(new BouncyCastleProvider());
    switch (args[0]) {
      case "encrypt": {
        X509Certificate cert = readCert(args[1]);
        byte[] content = Files.readAllBytes(Paths.get(args[2]));
        CMSAuthEnvelopedDataGenerator gen = new CMSAuthEnvelopedDataGenerator();
        if (cert.getPublicKey().getAlgorithm().equals("RSA")) {
          OAEPParameterSpec oaep = new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
          AlgorithmIdentifier alg = new JcaAlgorithmParametersConverter()
              .getAlgorithmIdentifier(PKCSObjectIdentifiers.id_RSAES_OAEP, oaep);
          gen.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(cert, alg).setProvider("BC"));
        } else {
          KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", "BC");
          kpg.initialize(new ECGenParameterSpec("P-256"));
          KeyPair eph = kpg.generateKeyPair();
          JceKeyAgreeRecipientInfoGenerator kari = new JceKeyAgreeRecipientInfoGenerator(
              CMSAlgorithm.ECDH_SHA256KDF, eph.getPrivate(), eph.getPublic(), CMSAlgorithm.AES256_WRAP);
          kari.addRecipient(cert);
          gen.addRecipientInfoGenerator(kari.setProvider("BC"));
        }
        CMSAuthEnvelopedData data = gen.generate(new CMSProcessableByteArray(content),
            (OutputAEADEncryptor) new JceCMSContentEncryptorBuilder(CMSAlgorithm.AES256_GCM).setProvider("BC").build());
        Files.write(Paths.get(args[3]), data.getEncoded());
        break;
      }
      case "decrypt": {
        PrivateKey key = readKey(args[1]);
        X509Certificate cert = readCert(args[2]);
        byte[] der = Files.readAllBytes(Paths.get(args[3]));
        RecipientInformationStore store;
        CMSEnvelopedData env = null;
        try {
          store = new CMSAuthEnvelopedData(der).getRecipientInfos();
          System.err.println("authEnvelopedData");
        } catch (Exception e) {
          env = new CMSEnvelopedData(der);
          store = env.getRecipientInfos();
          System.err.println("envelopedData " + env.getEncryptionAlgOID());
        }
        RecipientInformation ri = null;
        for (RecipientInformation r : store.getRecipients()) {
          if (r.getRID().match(new JcaX509CertificateHolder(cert))) ri = r;
        }
        if (ri == null) throw new Exception("no RecipientInfo for the certificate");
        System.err.println("key encryption " + ri.getKeyEncryptionAlgOID());
        Recipient rec = ri instanceof KeyTransRecipientInformation
            ? new JceKeyTransEnvelopedRecipient(key).setProvider("BC")
            : new JceKeyAgreeEnvelopedRecipient(key).setProvider("BC");
        Files.write(Paths.get(args[4]), ri.getContent(rec));
        break;
      }
      case "verify": {
        CMSSignedData sd = new CMSSignedData(Files.readAllBytes(Paths.get(args[1])));
        @SuppressWarnings("unchecked")
        Store<X509CertificateHolder> certs = sd.getCertificates();
        for (SignerInformation si : sd.getSignerInfos().getSigners()) {
          @SuppressWarnings("unchecked")
          Collection<X509CertificateHolder> match = certs.getMatches(si.getSID());
          X509CertificateHolder holder = match.iterator().next();
          if (!si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(holder))) {
            throw new Exception("signature does not verify");
          }
        }
        Files.write(Paths.get(args[2]), (byte[]) sd.getSignedContent().getContent());
        break;
      }
      default:
        throw new Exception("unknown mode " + args[0]);
    }
  }
}
