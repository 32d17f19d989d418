from tests.image_providers.fake_server import script, server  # noqa: F401 (fixtures)
