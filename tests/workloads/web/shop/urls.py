from django.urls import path

from shop import views

urlpatterns = [
    path("cpu/", views.cpu),
    path("sleep/", views.sleepy),
    path("mixed/", views.Mixed.as_view()),
    path("mixed/<int:order>/", views.Mixed.as_view()),
    path("query/", views.query),
]
