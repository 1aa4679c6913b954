"""The Flask site: two function views and a MethodView."""
from flask import Flask
from flask.views import MethodView

import webwork

app = Flask(__name__)


@app.route("/cpu/")
def cpu():
    return webwork.cpu()


@app.route("/sleep/")
def sleepy():
    return webwork.sleep()


class Mixed(MethodView):
    def get(self):
        return webwork.mixed()


app.add_url_rule("/mixed/", view_func=Mixed.as_view("mixed"))
