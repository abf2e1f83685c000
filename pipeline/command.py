"""The `vsearch` command group: one-line errors instead of tracebacks, and the options every command takes.

Its commands join it from cli.py, cli_moments.py and cli_mcp.py.
"""

import functools
import os
import signal
import sys
import threading
from pathlib import Path

import click

from vsearch import __version__
from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import display

from .settings import load_settings

INTERNAL_ERROR = 70


class Terminated(BaseException):
    """SIGTERM arrived (`timeout`, a service manager): stop the way Ctrl-C does."""


def _terminate(signum, frame):
    raise Terminated


class Cli(click.Group):
    """Prints VsearchErrors as one line with their exit code instead of a traceback."""

    def invoke(self, ctx):
        # By default SIGTERM ends Python at once: no temp folder deleted, no index closed.
        main = threading.current_thread() is threading.main_thread()  # the only one that may set handlers
        previous = signal.signal(signal.SIGTERM, _terminate) if main else None
        try:
            return super().invoke(ctx)
        except VsearchError as exc:
            click.echo(f"vsearch: error: {display(str(exc))}", err=True)  # a name in it may hold control characters
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("vsearch: interrupted", err=True)
            sys.exit(130)
        except Terminated:
            if ctx.invoked_subcommand in ("serve", "mcp"):  # `serve --stop`, an assistant: the way a server ends
                click.echo("vsearch: the server stopped", err=True)
                sys.exit(0)
            click.echo("vsearch: terminated; what was indexed is kept, run it again to go on", err=True)
            sys.exit(128 + signal.SIGTERM)
        except BrokenPipeError:
            # The reader went away (`vsearch find ... | head -1`): normal shell use. Point stdout
            # at /dev/null so that flushing it at exit raises nothing more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("VSEARCH_DEBUG"):
                raise
            click.echo(f"vsearch: internal error: {type(exc).__name__}: {display(str(exc))} "
                       "(set VSEARCH_DEBUG=1 for a traceback)", err=True)
            sys.exit(INTERNAL_ERROR)
        finally:
            if previous is not None:  # None also where a non-Python handler was in place
                signal.signal(signal.SIGTERM, previous)


_FLAGS = "vsearch.setting_flags"


def setting_option(key: str, *decls: str, **attrs):
    """A command's own option for the setting `key`: layered and checked as every setting is
    (RULES; a flag outranks the environment and --config), so the command reads only its settings."""
    def remember(ctx, param, value):
        if value is not None:
            ctx.meta.setdefault(_FLAGS, {})[key] = value

    return click.option(*decls, callback=remember, expose_value=False, **attrs)


def common_options(fn):
    """Storage, model and config options every command takes."""
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="TOML settings file (see configs/default.toml)."),
        click.option("--home", help="Folder of the Milvus Lite index [VSEARCH_HOME]."),
        click.option("--uri", help="Milvus server URI, e.g. http://host:19530 [VSEARCH_URI]."),
        click.option("--token", help="Milvus server token [VSEARCH_TOKEN]."),
        click.option("--collection", help="Collection prefix: another prefix is another index."),
        click.option("--model", help="Preset (siglip2, chinese-clip, clip), HF id or folder [VSEARCH_MODEL]."),
        click.option("--text-model", help="Model of cue vectors: multilingual-e5-small, bge-m3, minilm, image, "
                                          "HF id or folder [VSEARCH_TEXT_MODEL]."),
        click.option("--audio-model", help="Sound model: clap, clap-general, HF id or folder [VSEARCH_AUDIO_MODEL]."),
        click.option("--picture-model", help="Picture model for --image and \"more like this\": none, dinov2-small, "
                                             "dinov2, webssl, vit, HF id or folder [VSEARCH_PICTURE_MODEL]."),
        click.option("--asr-model", help="Speech model: auto, a faster-whisper size (tiny, small, large-v3-turbo), "
                                         "HF id or folder [VSEARCH_ASR_MODEL]."),
        click.option("--device", help="auto, cpu, cuda [VSEARCH_DEVICE]."),
    ]

    @functools.wraps(fn)
    def wrapper(*args, config_file, home, uri, token, collection, model, text_model, audio_model, picture_model,
                asr_model, device, **kwargs):
        flags = {"home": home, "uri": uri, "token": token, "collection": collection, "model": model,
                 "text_model": text_model, "audio.model": audio_model, "picture_model": picture_model,
                 "asr.model": asr_model, "device": device,
                 **click.get_current_context().meta.get(_FLAGS, {})}
        settings = load_settings(config_file, flags)
        return fn(settings, *args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vsearch")
def cli():
    """Find moments in videos by what is seen and said, in any language.

    \b
      vsearch index lecture.mp4            # frames, subtitles -> index
      vsearch find "讲到向量数据库的部分"     # ranked segments with seek offsets
    """
    # transformers' and huggingface_hub's own warnings and progress bars would break one-line
    # errors and clean --json; a failed model load gets our message. Users can still override.
    for name, value in (("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_VERBOSITY", "error"),
                        ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
        os.environ.setdefault(name, value)
