//! PEM text compared by content, whatever the line length or line ends a tool chose.

/// The base64 body of the PEM blocks in `text`, without the BEGIN/END lines and
/// whitespace: two tools' PEM output of the same DER gives the same body.
pub fn pem_body(text: &str) -> String {
    text.lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.split_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_length_and_labels_do_not_matter() {
        let a = "-----BEGIN CERTIFICATE-----\nMIIB\nAAAA\n-----END CERTIFICATE-----\n";
        let b = "-----BEGIN CERTIFICATE-----\r\nMIIBAAAA\r\n-----END CERTIFICATE-----";
        assert_eq!(pem_body(a), "MIIBAAAA");
        assert_eq!(pem_body(a), pem_body(b));
    }
}
