//! Column alignment of tab-separated text, laid out as Go's `text/tabwriter`
//! does with podman's settings (minimum cell width 12, padding 2, spaces).
//!
//! A cell is text terminated by a tab; the text after a line's last tab is
//! not a cell and is never padded. A column is aligned over each run of
//! consecutive lines that have a tab-terminated cell in it, so a line with
//! fewer cells ends the run, as in Go.

/// Minimum width of a cell including padding, as podman sets it.
pub(crate) const MIN_WIDTH: usize = 12;
/// Spaces added after the widest cell of a column, as podman sets it.
pub(crate) const PADDING: usize = 2;

/// Aligns the tab-separated columns of `text`.
pub(crate) fn align(text: &str, min_width: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    // widths[line][col]: the padded width of each tab-terminated cell.
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|cells| vec![0; cells.len() - 1]).collect();
    let columns = lines.iter().map(|c| c.len() - 1).max().unwrap_or(0);
    for col in 0..columns {
        let mut line = 0;
        while line < lines.len() {
            if lines[line].len() - 1 <= col {
                line += 1;
                continue;
            }
            let start = line;
            let mut width = min_width;
            while line < lines.len() && lines[line].len() - 1 > col {
                width = width.max(lines[line][col].chars().count() + padding);
                line += 1;
            }
            for w in &mut widths[start..line] {
                w[col] = width;
            }
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (i, cells) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (last, terminated) = cells.split_last().unwrap_or((&"", &[]));
        for (cell, width) in terminated.iter().zip(&widths[i]) {
            out.push_str(cell);
            for _ in cell.chars().count()..*width {
                out.push(' ');
            }
        }
        out.push_str(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn podman(text: &str) -> String {
        align(text, MIN_WIDTH, PADDING)
    }

    #[test]
    fn pads_to_min_width_and_leaves_last_cell() {
        assert_eq!(
            podman("ID\tNAME\nabc\tweb\n"),
            "ID          NAME\nabc         web\n"
        );
    }

    #[test]
    fn wide_cells_get_two_spaces() {
        assert_eq!(
            podman("CONTAINER ID\tIMAGE\tNAMES\n0123456789abcdef\tdocker.io/library/alpine:latest\tx\n"),
            "CONTAINER ID      IMAGE                            NAMES\n\
             0123456789abcdef  docker.io/library/alpine:latest  x\n"
        );
    }

    #[test]
    fn trailing_tab_makes_last_column_padded() {
        assert_eq!(podman("a\tb\t\n"), "a           b           \n");
    }

    #[test]
    fn lines_without_the_column_break_blocks() {
        // The middle line has no cell in column 0, so the two outer lines
        // are aligned independently.
        assert_eq!(
            podman("aaaaaaaaaaaaaaaa\tx\nplain\nb\ty\n"),
            "aaaaaaaaaaaaaaaa  x\nplain\nb           y\n"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(podman("é\tx\n"), "é           x\n");
    }

    #[test]
    fn empty_cells_are_padded() {
        assert_eq!(podman("\tx\n"), "            x\n");
        assert_eq!(podman(""), "");
    }
}
