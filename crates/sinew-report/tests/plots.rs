//! Every chart is written and its files checked: the SVG parses (usvg, the parser behind the PNG
//! renderer) and holds the title, the axis labels and the drawn marks; the PNG decodes, has the
//! expected size and `Title` chunk, and has ink where the title and the marks are. The exploration
//! charts use the real Titanic table from `../shared/data`.

use sinew_data::{confusion_matrix, find_dataset, read_csv, roc_curve, CsvOptions, DataFrame};
use sinew_report::*;
use std::path::PathBuf;

fn titanic() -> DataFrame {
    read_csv(
        find_dataset("titanic").expect("../shared/data/titanic is required").join("titanic.csv"),
        &CsvOptions::new(),
    )
    .unwrap()
}

fn out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sinew-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Checks an SVG document: it parses, and contains each of `texts` and each drawn `class`.
fn check_svg(svg: &str, texts: &[&str], classes: &[&str]) {
    resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).expect("valid SVG");
    for t in texts {
        assert!(svg.contains(&format!(">{t}<")), "missing text {t:?}");
    }
    for c in classes {
        assert!(svg.contains(&format!("class=\"{c}\"")), "missing group {c:?}");
    }
}

#[test]
fn exploration_charts_on_titanic() {
    let df = titanic();
    let h = histogram(&df, "Age", 20).unwrap();
    check_svg(&h.to_svg(), &["Distribution of Age", "Age", "count"], &["x-axis", "y-axis", "bars"]);
    // 20 bars, one per bin.
    assert_eq!(h.to_svg().matches("<rect").count(), 1 + 20);
    let c = count_plot(&df, "Embarked").unwrap();
    check_svg(&c.to_svg(), &["Counts of Embarked", "S", "C", "Q", "count"], &["bars"]);
    let s = scatter_plot(&df, "Age", "Fare").unwrap();
    // One point per passenger with both values: 714 have an age.
    assert_eq!(s.to_svg().matches("<circle").count(), 714);
    check_svg(&s.to_svg(), &["Fare against Age", "Age", "Fare"], &["points"]);
    let b = box_plot(&df, "Age", Some("Pclass")).unwrap();
    check_svg(&b.to_svg(), &["Age by Pclass", "1", "2", "3"], &["boxes"]);
    let m = correlation_heatmap(&df).unwrap();
    check_svg(&m.to_svg(), &["Correlation matrix", "Survived", "Fare", "1.00"], &["cells"]);
    assert!(histogram(&df, "Nope", 10).unwrap_err().message.contains("no column \"Nope\""));
    assert!(histogram(&df, "Name", 10).unwrap_err().message.contains("is not a number"));
}

#[test]
fn evaluation_charts() {
    let truth = [0, 1, 1, 0, 1, 0, 1, 1];
    let pred = [0, 1, 0, 0, 1, 1, 1, 1];
    let names = vec!["died".to_string(), "survived".to_string()];
    let m = confusion_matrix_plot(&confusion_matrix(&truth, &pred, 2).unwrap(), &names).unwrap();
    check_svg(&m.to_svg(), &["Confusion matrix", "predicted", "true", "died", "survived", "4"], &["cells"]);
    assert!(confusion_matrix_plot(&[vec![1, 2]], &names).is_err());
    let scores = [0.1, 0.8, 0.4, 0.3, 0.9, 0.6, 0.7, 0.95];
    let roc = roc_plot(&roc_curve(&truth, &scores).unwrap());
    check_svg(
        &roc.to_svg(),
        &["ROC curve", "false positive rate", "true positive rate", "chance"],
        &["lines", "legend"],
    );
    // 14 of the 15 positive-negative pairs are ranked correctly.
    assert!(roc.to_svg().contains(">ROC (AUC = 0.933)<"));
}

#[test]
fn learning_curves_from_a_real_fit() {
    use sinew_nn::{Activation, Dense};
    use sinew_tensor::{Rng, Tensor};
    let mut rng = Rng::seed(1);
    let x = Tensor::rand_normal([64, 3], 0.0, 1.0, &mut rng);
    let y = x.sum(&[1], true).gt(&Tensor::scalar(0.0));
    let mut m = sinew_train::Sequential::new();
    m.seed(1).input(&[3]);
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(sinew_optim::Optimizer::adam(0.05), "binary_crossentropy", &["accuracy"]).unwrap();
    let h = m.fit(&x, &y, sinew_train::Fit::new().epochs(4).verbose(0).validation_split(0.25)).unwrap();
    let plots = learning_curves(&h);
    assert_eq!(
        plots.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(),
        ["Learning curve: loss", "Learning curve: accuracy"]
    );
    check_svg(&plots[0].to_svg(), &["loss", "val_loss", "epoch"], &["lines", "legend"]);
}

#[test]
fn png_and_svg_files_are_written() {
    let df = titanic();
    let plot = histogram(&df, "Fare", 30).unwrap();
    let (svg, png_path) = (out("fare.svg"), out("fare.png"));
    save_plot(&plot, &svg).unwrap();
    check_svg(&std::fs::read_to_string(&svg).unwrap(), &["Distribution of Fare"], &["bars"]);
    save_plot(&plot, &png_path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (1280, 840));
    let title: Vec<String> =
        info.uncompressed_latin1_text.iter().filter(|t| t.keyword == "Title").map(|t| t.text.clone()).collect();
    assert_eq!(title, ["Distribution of Fare"]);
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    let dark = |y0: usize, y1: usize| {
        (y0..y1).flat_map(|y| (0..1280).map(move |x| (y * 1280 + x) * 4)).filter(|&i| buf[i] < 128).count()
    };
    assert!(dark(20, 70) > 200, "the title is rendered"); // y 10-35 at scale 2
    assert!(dark(100, 700) > 1000, "bars and axes are rendered");
    assert!(save_plot(&plot, out("fare.gif")).unwrap_err().message.contains("use .svg or .png"));
    assert_eq!(
        std::fs::read_dir(svg.parent().unwrap())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp-"))
            .count(),
        0
    );
}

#[test]
fn grouped_scatter_and_image_grid() {
    let groups = vec![
        Series { name: "setosa".into(), x: vec![0.0, 1.0], y: vec![0.0, 1.0] },
        Series { name: "virginica".into(), x: vec![2.0, 3.0, 4.0], y: vec![1.0, 0.5, 0.0] },
    ];
    let svg = Plot::scatter_groups("Codes", groups).x_label("code 1").to_svg();
    check_svg(&svg, &["Codes", "code 1", "setosa", "virginica"], &["points", "legend"]);
    // Five points and one legend marker per group.
    assert_eq!(svg.matches("<circle").count(), 5 + 2);

    // Three 2x3 images, two to a row: a 2-row grid with one-pixel gaps, each pixel 2x2.
    let pixels: Vec<f32> = (0..18).map(|i| i as f32 / 17.0).collect();
    let bytes = image_grid_png(&pixels, 3, 2, 3, 2, 2, "samples").unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (((3 + 1) * 2 + 1) * 2, ((2 + 1) * 2 + 1) * 2));
    assert!(info.uncompressed_latin1_text.iter().any(|t| t.keyword == "Title" && t.text == "samples"));
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    let width = (((3 + 1) * 2 + 1) * 2) as usize;
    // Image 0's first pixel (value 0) is black; image 1's last (value 11/17) is its gray.
    assert_eq!(buf[2 * width + 2], 0);
    let (y, x) = ((1 + 1) * 2, (4 + 1 + 2) * 2);
    assert_eq!(buf[y * width + x], (11.0f32 / 17.0 * 255.0).round() as u8);
    assert!(image_grid_png(&pixels, 4, 2, 3, 2, 2, "bad").unwrap_err().message.contains("18 values for 4 images"));
    let path = out("grid.png");
    save_image_grid(&path, &pixels, 3, (2, 3), 2, "samples").unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
}

#[test]
fn a_heatmap_writes_given_cell_labels_in_place_of_its_values() {
    let names: Vec<String> = ["0", "1"].iter().map(|s| s.to_string()).collect();
    let marks: Vec<String> = ["seven", "one", "", "zero"].iter().map(|s| s.to_string()).collect();
    let svg = Plot::heatmap("Hits", &names, &names, &[3.0, 5.0, 0.0, 2.0], (0.0, 5.0)).cell_labels(&marks).to_svg();
    check_svg(&svg, &["Hits", "seven", "one", "zero"], &["cells"]);
    assert!(!svg.contains(">5<"), "the values are replaced by the labels");
}
