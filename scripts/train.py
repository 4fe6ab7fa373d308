"""Train the lesson's CIFAR-10 CNN from the command line.

    python scripts/train.py                                  # episode 5's model, 20 epochs
    python scripts/train.py --channels 32 64 --dropout 0.3 --optimizer sgd --schedule step
    python scripts/train.py --config settings.toml --epochs 5  # the command line wins
    python scripts/train.py --help                           # every setting

The steps are those of the notebooks of episodes 4 and 5: load the data, build the
model, compile, fit, save. Here they are functions, and the settings are arguments
instead of variables in cells. A script needs no browser: it runs on a remote machine
or a cluster's GPU, and a shell loop can try several settings one after the other.

It writes three files into --out, named after the time the run started:
cnn-YYYYMMDD-HHMMSS.json (the settings), .csv (the history, one line per epoch) and
cnn-YYYYMMDD-HHMMSS-val0.612.keras (the model, with its best validation accuracy).
"""
import argparse
import json
import re
import sys
import time
import tomllib
from pathlib import Path

import cnnlesson

STEP_EPOCHS = 5  # --schedule step halves the learning rate every 5 epochs


def positive_int(text):
    """argparse type: a whole number above 0 (0 epochs or 0 images make no run)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, not {text!r}")
    return int(text)


def parse_args(argv=None):
    """The settings, checked before TensorFlow starts: a typo costs a second, not ten."""
    p = argparse.ArgumentParser(prog="train.py",
                                description="Train the lesson's CNN on CIFAR-10.")
    p.add_argument("--config", type=Path, help="a .toml or .json file of settings, "
                   "named as below (epochs = 5, channels = [32, 64]); the command line wins")
    p.add_argument("--channels", type=positive_int, nargs="+", default=[32, 64, 64],
                   metavar="N", help="channels of each convolution layer, at most 3 (32 64 64)")
    p.add_argument("--dropout", type=float, default=0.5, help="dropout rate (0.5)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                   help="adam, or sgd with momentum 0.9 (adam)")
    p.add_argument("--lr", type=float, help="learning rate (adam 0.001, sgd 0.01)")
    p.add_argument("--schedule", choices=["none", "step", "plateau"], default="none",
                   help=f"none; step: halve it every {STEP_EPOCHS} epochs; plateau: "
                   "halve it when the validation loss stalls (none)")
    p.add_argument("--epochs", type=positive_int, default=20, help="at most this many (20)")
    p.add_argument("--patience", type=positive_int, default=5, help="stop after this many "
                   "epochs without a better validation accuracy (5)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="images per step (64)")
    p.add_argument("--seed", type=int, default=42, help="for the weights and batches (42)")
    p.add_argument("--train-images", type=positive_int, default=5000,
                   help="fewer for a quick try (5000)")
    p.add_argument("--val-images", type=positive_int, default=2000, help="(2000)")
    p.add_argument("--device", default="auto",
                   help="auto (a GPU if there is one), cpu, gpu or gpu:N (auto)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="output folder (runs)")

    def error(message):  # one sentence instead of argparse's usage block
        sys.exit(f"train.py: {message}; `python train.py --help` lists the settings.")
    p.error = error
    argv = sys.argv[1:] if argv is None else list(argv)
    config = p.parse_known_args(argv)[0].config
    args = p.parse_args(config_args(config, error) + argv if config else argv)
    for wrong, message in [
        (args.train_images % 10 or args.val_images % 10,
         "--train-images and --val-images must be multiples of 10, as many per class"),
        (args.train_images + args.val_images > 50000,
         "--train-images and --val-images add up to more than CIFAR-10's 50000"),
        (len(args.channels) > 3,  # width 32 -> 30, 15 -> 13, 6 -> 4, 2 -> 0
         "a fourth convolution layer would shrink the 32x32 images to nothing"),
        (not 0 <= args.dropout < 1, "--dropout must be from 0 to below 1"),
        (args.lr is not None and not args.lr > 0, "--lr must be above 0"),
        (args.seed < 0, "--seed must be 0 or more"),
        (not re.fullmatch(r"auto|cpu|gpu(:\d+)?", args.device),
         f"--device must be auto, cpu, gpu or gpu:N, not {args.device!r}"),
    ]:
        if wrong:
            error(message)
    args.lr = args.lr or {"adam": 0.001, "sgd": 0.01}[args.optimizer]
    return args


def config_args(path, error):
    """A settings file, as the command-line arguments it stands for (checked alike)."""
    try:
        text = path.read_text()
        settings = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as err:
        error(f"cannot read the settings file {path}: {err}")
    if not isinstance(settings, dict):
        error(f"the settings file {path} must hold names and values, like a dict")
    out = []
    for name, value in settings.items():
        values = value if isinstance(value, list) else [value]
        out += [f"--{name.replace('_', '-')}", *map(str, values)]
    return out


def use_device(device):
    """Show TensorFlow only the chosen device; it must happen before any model exists."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu":
        tf.config.set_visible_devices([], "GPU")
    elif device.startswith("gpu"):
        n = int(device.partition(":")[2] or 0)
        if n >= len(gpus):
            sys.exit(f"train.py: there is no GPU {n}: TensorFlow sees {len(gpus)} GPU(s) "
                     "on this machine, so use --device cpu or auto.")
        tf.config.set_visible_devices(gpus[n], "GPU")


def build_cnn(channels, dropout):
    """Episode 5's CNN; a pooling layer halves the image between convolutions."""
    import keras  # here, not at the top: the settings and data are checked first
    layers = [keras.Input(shape=(32, 32, 3)), keras.layers.Rescaling(1 / 255)]
    for i, n in enumerate(channels):
        layers += [keras.layers.MaxPooling2D()] if i else []
        layers.append(keras.layers.Conv2D(n, 3, activation="relu"))
    layers += [keras.layers.Flatten(), keras.layers.Dropout(dropout),
               keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(dropout),
               keras.layers.Dense(10)]
    return keras.Sequential(layers, name="cnn")


def compile_model(model, args):
    """Episode 4's compile, with the optimizer as a setting."""
    import keras
    optimizer = (keras.optimizers.Adam(args.lr) if args.optimizer == "adam"
                 else keras.optimizers.SGD(args.lr, momentum=0.9))
    model.compile(optimizer=optimizer, metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def callbacks(args, log_file):
    """What a notebook does by looking: stop when it stalls, adjust the rate, keep a log."""
    import keras
    found = [keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", verbose=1,
                                           patience=args.patience, restore_best_weights=True)]
    if args.schedule == "step":
        found.append(keras.callbacks.LearningRateScheduler(
            lambda epoch: args.lr * 0.5 ** (epoch // STEP_EPOCHS)))
    elif args.schedule == "plateau":
        found.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                       patience=2, verbose=1))
    return found + [keras.callbacks.CSVLogger(log_file)]  # last: it logs the rate too


def load_data(args):
    """The lesson's split of CIFAR-10. It does not change with --seed: runs with other
    seeds are compared on the same validation images. The test set stays unused."""
    try:
        return cnnlesson.load_lesson_data(n_train=args.train_images, n_val=args.val_images)
    except cnnlesson.DataError as err:  # its message says what is wrong and what to do
        sys.exit(f"train.py: {err}")


def main(argv=None):
    """The notebook's cells in order: settings, data, model, compile, fit, save."""
    args = parse_args(argv)
    data = load_data(args)
    use_device(args.device)
    import keras
    keras.utils.set_random_seed(args.seed)
    model = build_cnn(args.channels, args.dropout)
    compile_model(model, args)

    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / time.strftime("cnn-%Y%m%d-%H%M%S")
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                if k != "config"}  # --config FILE.json repeats this run
    stem.with_suffix(".json").write_text(json.dumps(settings, indent=1) + "\n")
    history = model.fit(data.x_train, data.y_train, epochs=args.epochs,
                        batch_size=args.batch_size, validation_data=(data.x_val, data.y_val),
                        callbacks=callbacks(args, stem.with_suffix(".csv")),
                        verbose=1 if sys.stdout.isatty() else 2)  # a bar only in a terminal

    best = max(history.history["val_accuracy"])  # EarlyStopping restored that epoch
    path = stem.with_name(f"{stem.name}-val{best:.3f}.keras")
    model.save(path)
    print(f"best validation accuracy {best:.3f}; model saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
